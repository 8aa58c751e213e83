// The daemon's JSON-RPC server over a real Unix socket, run in a sandboxed child (execve denied):
// spec behaviour through socat, line limits, disconnects, stalled and concurrent clients,
// socket mode, stale-socket replacement and clean shutdown on SIGTERM.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/context.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "rpc/client.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;

std::string socat(const std::string& sock, const std::string& input) {
  auto r = run_tool({"socat", "-t", "5", "-", "UNIX-CONNECT:" + sock}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(RpcSocket, SpecExamplesThroughSocat) {
  SandboxedDaemon d;
  auto r = json::parse(socat(d.socket(), R"({"jsonrpc": "2.0", "method": "foobar", "id": "1"})" "\n"));
  EXPECT_EQ(r["error"]["code"], -32601);
  EXPECT_EQ(r["id"], "1");
  r = json::parse(socat(d.socket(), R"({"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz])" "\n"));
  EXPECT_EQ(r["error"]["code"], -32700);
  EXPECT_TRUE(r["id"].is_null());
  r = json::parse(socat(d.socket(), R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})" "\n"));
  EXPECT_EQ(r["error"]["code"], -32600);
  r = json::parse(socat(d.socket(), "[]\n"));
  EXPECT_EQ(r["error"]["code"], -32600);
  r = json::parse(socat(d.socket(), "[1,2,3]\n"));
  ASSERT_EQ(r.size(), 3u);
  r = json::parse(socat(d.socket(), R"([{"jsonrpc":"2.0","method":"storage.list_disks","id":1},)"
                                R"({"jsonrpc":"2.0","method":"storage.list_mounts"},)"
                                R"({"foo":"boo"},)"
                                R"({"jsonrpc":"2.0","method":"nope","id":"5"}])" "\n"));
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0]["result"].is_array());
  EXPECT_EQ(r[1]["error"]["code"], -32600);
  EXPECT_EQ(r[2]["error"]["code"], -32601);
  // Notifications only: no reply at all.
  EXPECT_EQ(socat(d.socket(), R"({"jsonrpc":"2.0","method":"storage.list_disks"})" "\n"), "");
  // The seed README's own example.
  r = json::parse(socat(d.socket(), R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover","params":{}})" "\n"));
  EXPECT_EQ(r["result"]["openrpc"], "1.2.6");
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

TEST(RpcSocket, DiscoverListsEveryMethodWithSchemas) {
  SandboxedDaemon d;
  rpc::Client c(d.socket());
  json doc = c.call("rpc.discover");
  std::set<std::string> names;
  for (auto& m : doc["methods"]) {
    names.insert(m["name"]);
    EXPECT_TRUE(m.contains("params"));
    EXPECT_TRUE(m["result"].contains("schema"));
    EXPECT_FALSE(m["summary"].get<std::string>().empty()) << m["name"];
  }
  for (auto n : {"storage.list_disks", "storage.list_partitions", "storage.list_filesystems", "storage.list_mounts",
                 "storage.inventory", "rpc.discover"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST(RpcSocket, SocketModeAndStaleSocketReplaced) {
  TempDir dir;
  std::string sock = dir / "stale.socket()";
  // A stale socket: bound by a process that went away without unlinking it.
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
  ASSERT_EQ(connect_raw(sock), -1);
  SandboxedChild child([sock] {
    engine::Jobs jobs;
    engine::Context ctx;
    ctx.jobs = &jobs;
    rpc::Registry reg = rpc::make_registry();
    rpc::ServerOptions opts;
    opts.socket_path = sock;
    rpc::Server server(opts, reg, ctx);
    server.run();
    return 0;
  });
  // Wait until the new server answers.
  bool up = false;
  for (int i = 0; i < 500 && !up; ++i) {
    int c = connect_raw(sock);
    if (c >= 0) { up = true; close(c); } else usleep(10000);
  }
  ASSERT_TRUE(up);
  struct stat st {};
  ASSERT_EQ(stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  // A second server must refuse to steal a live socket.
  engine::Context ctx2;
  rpc::Registry reg2 = rpc::make_registry();
  rpc::ServerOptions o2;
  o2.socket_path = sock;
  rpc::Server second(o2, reg2, ctx2);
  EXPECT_THROW(second.run(), Error);
}

TEST(RpcSocket, SigtermShutsDownCleanlyAndRemovesSocket) {
  SandboxedDaemon d;
  int idle = connect_raw(d.socket());  // an idle client must not delay shutdown
  ASSERT_GE(idle, 0);
  EXPECT_EQ(d.stop(SIGTERM), 0);
  EXPECT_NE(access(d.socket().c_str(), F_OK), 0);
  close(idle);
}

TEST(RpcSocket, HugeLineIsRejectedAndConnectionClosed) {
  SandboxedDaemon d;
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  std::string huge = R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks","params":{"x":")" +
                     std::string(2 << 20, 'a') + "\"}}\n";
  size_t sent = 0;
  while (sent < huge.size()) {
    ssize_t n = send(fd, huge.data() + sent, huge.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close before we finish
    sent += static_cast<size_t>(n);
  }
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  auto nl = got.find('\n');
  ASSERT_NE(nl, std::string::npos) << "no error reply before close";
  auto r = json::parse(got.substr(0, nl));
  EXPECT_EQ(r["error"]["code"], -32600);
  // The daemon is still up and correct.
  rpc::Client c(d.socket());
  EXPECT_TRUE(c.call("storage.list_disks").is_array());
}

TEST(RpcSocket, AbruptDisconnectsAndStalledClientsDoNotHurtOthers) {
  SandboxedDaemon d;
  // Abrupt disconnects: request sent, connection dropped before the answer.
  for (int i = 0; i < 20; ++i) {
    int fd = connect_raw(d.socket());
    ASSERT_GE(fd, 0);
    std::string req = R"({"jsonrpc":"2.0","id":1,"method":"storage.inventory"})" "\n";
    (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    close(fd);
  }
  // A stalled client: half a request, never finished, never read.
  int stalled = connect_raw(d.socket());
  ASSERT_GE(stalled, 0);
  std::string half = R"({"jsonrpc":"2.0","id":1,"meth)";
  ASSERT_GT(send(stalled, half.data(), half.size(), MSG_NOSIGNAL), 0);
  // A client that floods requests and never reads its answers.
  int flooder = connect_raw(d.socket());
  std::string req = R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover"})" "\n";
  for (int i = 0; i < 200; ++i) (void)!send(flooder, req.data(), req.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  rpc::Client c(d.socket());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.call("storage.list_mounts").is_array());
  close(stalled);
  close(flooder);
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

TEST(RpcSocket, SixtyFourConcurrentClients) {
  SandboxedDaemon d;
  std::atomic<int> ok{0}, bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 64; ++t)
    threads.emplace_back([&, t] {
      try {
        rpc::Client c(d.socket());
        for (int i = 0; i < 10; ++i) {
          // Each client uses its own ids; the answer must carry the same id.
          json req = {{"jsonrpc", "2.0"}, {"id", t * 1000 + i}, {"method", i % 2 ? "storage.list_disks" : "rpc.discover"}};
          auto resp = json::parse(c.exchange(req.dump()));
          if (resp["id"] == t * 1000 + i && resp.contains("result")) ++ok; else ++bad;
        }
      } catch (...) {
        ++bad;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 640);
  EXPECT_EQ(bad.load(), 0);
  rpc::Client c(d.socket());
  EXPECT_TRUE(c.call("storage.inventory").is_object());
}

TEST(RpcSocket, PipelinedRequestsAnsweredInOrder) {
  SandboxedDaemon d;
  std::string batch;
  for (int i = 0; i < 50; ++i) batch += R"({"jsonrpc":"2.0","method":"storage.list_mounts","id":)" + std::to_string(i) + "}\n";
  auto out = socat(d.socket(), batch);
  std::istringstream lines(out);
  std::string line;
  int expect = 0;
  while (std::getline(lines, line)) EXPECT_EQ(json::parse(line)["id"], expect++);
  EXPECT_EQ(expect, 50);
}

}  // namespace
}  // namespace mos::test
