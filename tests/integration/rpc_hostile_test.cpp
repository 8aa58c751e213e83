// The daemon under hostile load (oversized, deep, slow, many and broken clients), each case against the real daemon in a
// sandboxed child: it stays up, its RSS (/proc/<pid>/status) stays under a stated bound, and
// another client is served within a stated delay. Also the idle timeout, the connection limit,
// and the limits reported by rpc.discover.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "rpc/client.hpp"
#include "rpc/daemon.hpp"
#include "tests/integration/rpc_test_support.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
constexpr long kRssBoundKib = 96 * 1024;  // the daemon's whole RSS after each attack
// Another client's rpc.discover is answered within this. Under ASan 2 s: the daemon served a
// bystander beside a never-reading flood in 4.7 s while one connection's queued lines were all
// answered in one loop turn; with the per-turn share (rpc/server.cpp) it took 155 ms there.
constexpr int kServedWithinMs = kRssBoundsHold ? 1000 : 2000;

void expect_healthy(const Daemon& d, const char* after) {
  EXPECT_TRUE(d.alive()) << "daemon died after " << after;
  long rss = d.rss_kib();
  if (kRssBoundsHold) {
    EXPECT_LT(rss, kRssBoundKib) << "RSS after " << after;
  }
  auto ms = served_ms(d.socket());
  EXPECT_LT(ms, kServedWithinMs) << "rpc.discover delay after " << after;
  std::printf("[ %s ] RSS %ld KiB, another client served in %d ms\n", after, rss, ms);
}

TEST(RpcHostile, DeepParamsLineIsRefused) {
  Daemon d;
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  std::string line = R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks","params":{"x":)" +
                     std::string(160000, '[') + std::string(160000, ']') + "}}\n";
  ASSERT_TRUE(send_all(fd, line));
  auto r = json::parse(recv_line(fd));
  EXPECT_EQ(r["error"]["code"], -32600);
  close(fd);
  expect_healthy(d, "160000-deep params");
}

TEST(RpcHostile, BatchAmplificationIsBounded) {
  Daemon d;
  rpc::Client c(d.socket());
  auto batch_of = [](size_t n) {
    std::string b = "[";
    for (size_t i = 0; i < n; ++i) b += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover"})";
    return b + "]";
  };
  auto r = json::parse(c.exchange(batch_of(2000)));  // the issue's 98 KB batch
  EXPECT_EQ(r["error"]["code"], -32600);
  std::string mib = batch_of(21000);  // just under the 1 MiB line limit
  ASSERT_LT(mib.size(), size_t{1} << 20);
  r = json::parse(c.exchange(mib));
  EXPECT_EQ(r["error"]["code"], -32600);
  // The longest batch allowed: its answer passes the response budget while built.
  r = json::parse(c.exchange(batch_of(128)));
  ASSERT_TRUE(r.is_object()) << "a 128-discover batch fit the budget: test no longer exercises it";
  EXPECT_EQ(r["error"]["code"], -32603);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--max-response-bytes"), std::string::npos);
  expect_healthy(d, "2000-call, 1 MiB and over-budget batches");
}

TEST(RpcHostile, PipelinedFloodFromAClientThatNeverReads) {
  Daemon d;
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  std::string chunk;
  for (int i = 0; i < 32768; ++i) chunk += "1\n";
  size_t sent = 0;
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (sent < 100'000'000 && std::chrono::steady_clock::now() < give_up) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, 3000) <= 0) break;  // the daemon stopped reading us: backpressure
    ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::printf("flood: %zu bytes sent before the daemon stopped reading\n", sent);
  EXPECT_LT(sent, size_t{100'000'000}) << "the daemon kept reading a client that never reads";
  expect_healthy(d, "pipelined flood (client connected)");
  close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expect_healthy(d, "pipelined flood (client gone)");
}

TEST(RpcHostile, MoreConnectionsThanDescriptorsDoNotSpin) {
#ifdef MOS_UNDER_SANITIZER
  // UBSan's vptr check probes memory through a pipe it opens: with every descriptor taken it
  // fails and reports a false "invalid vptr" (seen on a shared_ptr control block here).
  GTEST_SKIP() << "fd exhaustion breaks UBSan's own vptr check (it needs a free descriptor)";
#endif
  rpc::DaemonOptions o;
  Daemon d(o, /*nofile=*/48);
  int early = connect_raw(d.socket());
  ASSERT_GE(early, 0);
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = connect_raw(d.socket());
    if (fd >= 0) fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double cpu = d.cpu_seconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double busy = d.cpu_seconds() - cpu;
  std::printf("fd exhaustion: daemon used %.3f s CPU in 1 s\n", busy);
  EXPECT_LT(busy, 0.2) << "accept loop spins";
  // A client connected before the flood is still served.
  ASSERT_TRUE(send_all(early, R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover"})" "\n"));
  EXPECT_EQ(json::parse(recv_line(early))["id"], 1);
  for (int fd : fds) close(fd);
  close(early);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expect_healthy(d, "200 connections over a 48-descriptor limit");
}

TEST(RpcHostile, IdleConnectionsAreClosedSubscribersAreNot) {
  rpc::DaemonOptions o;
  o.limits.idle_timeout_seconds = 1;
  Daemon d(o);
  int idle = connect_raw(d.socket());
  int sub = connect_raw(d.socket());
  ASSERT_TRUE(send_all(sub, R"({"jsonrpc":"2.0","id":1,"method":"storage.subscribe","params":{"topics":["raid"]}})" "\n"));  // raid: no md on the host, so no event (other tests attach loops: devices events would arrive)
  EXPECT_TRUE(json::parse(recv_line(sub)).contains("result"));
  // A reader that stopped reading: answers pile up unread, then nothing moves for the timeout.
  int stalled = connect_raw(d.socket());
  std::string req;
  for (int i = 0; i < 2000; ++i) req += R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover"})" "\n";
  (void)!send(stalled, req.data(), req.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  pollfd p{idle, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 4000), 1) << "idle connection still open after 4 s";
  // Closed once its answers stopped moving for the timeout; how long the 2000 answers took to
  // pile up depends on the build (seconds under ASan), so wait for the hang-up, up to 8 s (12 s
  // under ASan).
  pollfd h{stalled, POLLIN, 0};
  for (int i = 0; i < (kRssBoundsHold ? 80 : 120) && !(h.revents & POLLHUP); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)poll(&h, 1, 0);
  }
  EXPECT_TRUE(h.revents & POLLHUP) << "a stalled reader was never closed";
  close(stalled);
  char b;
  EXPECT_EQ(recv(idle, &b, 1, 0), 0);
  pollfd q{sub, POLLIN, 0};
  EXPECT_EQ(poll(&q, 1, 0), 0) << "a subscribed connection was closed as idle";
  close(idle);
  close(sub);
}

TEST(RpcHostile, ConnectionLimitRefusesNewcomersClearly) {
  rpc::DaemonOptions o;
  o.limits.max_connections = 3;
  Daemon d(o);
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_raw(d.socket()));
  int extra = connect_raw(d.socket());
  ASSERT_GE(extra, 0);
  auto r = json::parse(recv_line(extra));
  EXPECT_EQ(r["error"]["code"], -32000);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--max-connections"), std::string::npos);
  close(extra);
  for (int fd : held) close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LT(served_ms(d.socket()), kServedWithinMs);
}

TEST(RpcHostile, DiscoverReportsLimitsAndDaemonLeftItsWorkingDirectory) {
  rpc::DaemonOptions o;
  o.limits.max_batch = 77;
  Daemon d(o);
  rpc::Client c(d.socket());
  json doc = c.call("rpc.discover");
  EXPECT_EQ(doc["x-limits"]["max_batch"], 77);
  EXPECT_EQ(doc["x-limits"]["max_json_depth"], 64);
  char cwd[256] = {};
  ASSERT_GT(readlink(("/proc/" + std::to_string(d.pid()) + "/cwd").c_str(), cwd, sizeof cwd - 1), 0);
  EXPECT_STREQ(cwd, "/");
  auto help = run_tool({std::string(MOS_BIN_DIR) + "/mos_volmgrd", "--help"});
  for (auto opt : {"--max-json-depth", "--max-batch", "--max-response-bytes", "--max-line-bytes",
                   "--max-connection-output", "--max-connections", "--idle-timeout", "--admin-group",
                   "--socket-mode", "--socket-group"})
    EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
}

}  // namespace
}  // namespace mos::test
