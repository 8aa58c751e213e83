// Deferred replies that hold no worker, event delivery (storage.subscribe, slow subscribers
// dropped, `mos-volmgr watch`), peer-credential authorization with an unprivileged user, and a
// socket that cannot be raced (trusted directory, umask, systemd activation).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "engine/context.hpp"
#include "engine/inventory/events.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;

// The daemon's registry plus test.sleep (deferred: answers from another thread after ms) and
// test.publish (puts an event on the bus).
rpc::Registry test_registry() {
  rpc::Registry r = rpc::make_registry();
  r.add(rpc::Method{"test.sleep", "answers after ms from another thread", "",
                    rpc::obj_schema({{"ms", rpc::int_schema("ms", 0, 60000)}, {"tag", rpc::int_schema("tag", 0, INT32_MAX)}}), json::object(),
                    false, nullptr, [](const json& p, engine::Context&, rpc::Reply reply) {
                      std::thread([p, reply] {
                        std::this_thread::sleep_for(std::chrono::milliseconds(p.value("ms", 0)));
                        reply.result(p.value("tag", 0));
                      }).detach();
                    }});
  r.add(rpc::Method{"test.publish", "publishes events", "",
                    rpc::obj_schema({{"topic", rpc::str_schema("t")}, {"count", rpc::int_schema("n", 0, 1000000)},
                                     {"pad", rpc::int_schema("bytes of padding", 0, 1 << 30)}}),
                    json::object(), false, [](const json& p, engine::Context& ctx) -> json {
                      for (int i = 0; i < p.value("count", 1); ++i)
                        ctx.events->publish({p.value("topic", "jobs"), "progress",
                                             {{"seq", i}, {"pad", std::string(p.value("pad", 0), 'p')}}});
                      return true;
                    }});
  return r;
}

Daemon::Serve test_server(rpc::ServerOptions o) {
  return [o](const std::string& sock) mutable {
    engine::Jobs jobs;
    engine::EventBus bus;
    engine::Context ctx;
    ctx.jobs = &jobs;
    ctx.events = &bus;
    rpc::Registry reg = test_registry();
    o.socket_path = sock;
    rpc::Server server(o, reg, ctx);
    server.run();
  };
}

TEST(RpcServer, DeferredCallsHoldNoWorker) {
  rpc::ServerOptions o;
  o.workers = 2;
  Daemon d(test_server(o));
  std::vector<std::thread> slow;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i)
    slow.emplace_back([&, i] {
      rpc::Client c(d.socket());
      if (c.call("test.sleep", {{"ms", 1500}, {"tag", i}}) == i) ++answered;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all 8 in flight
  int ms = served_ms(d.socket());
  std::printf("rpc.discover with 8 deferred calls in flight on 2 workers: %d ms\n", ms);
  EXPECT_LT(ms, 500);
  for (auto& t : slow) t.join();
  EXPECT_EQ(answered.load(), 8);
  // One connection's pipelined requests keep their order although the first answers last.
  int fd = connect_raw(d.socket());
  ASSERT_TRUE(send_all(fd, R"({"jsonrpc":"2.0","id":1,"method":"test.sleep","params":{"ms":300,"tag":1}})" "\n"
                           R"({"jsonrpc":"2.0","id":2,"method":"test.sleep","params":{"ms":0,"tag":2}})" "\n"
                           R"({"jsonrpc":"2.0","id":3,"method":"rpc.discover"})" "\n"));
  for (int id = 1; id <= 3; ++id) EXPECT_EQ(json::parse(recv_line(fd))["id"], id);
  close(fd);
}

TEST(RpcServer, SubscribersGetTheirTopicsInOrder) {
  Daemon d(test_server({}));
  int w = connect_raw(d.socket());
  auto call = [&](int id, const std::string& method, const json& params) {
    EXPECT_TRUE(send_all(w, json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump() + "\n"));
    return json::parse(recv_line(w));
  };
  EXPECT_EQ(call(1, "storage.subscribe", {{"topics", {"jobs", "raid"}}})["result"]["topics"], json({"jobs", "raid"}));
  EXPECT_EQ(call(2, "storage.subscribe", {{"topics", {"bogus"}}})["error"]["code"], -32602);
  rpc::Client other(d.socket());
  other.call("test.publish", {{"topic", "devices"}, {"count", 2}});  // not subscribed
  other.call("test.publish", {{"topic", "jobs"}, {"count", 3}});
  for (int i = 0; i < 3; ++i) {
    json n = json::parse(recv_line(w));
    EXPECT_EQ(n["method"], "storage.event");
    EXPECT_FALSE(n.contains("id"));
    EXPECT_EQ(n["params"]["topic"], "jobs");
    EXPECT_EQ(n["params"]["kind"], "progress");
    EXPECT_EQ(n["params"]["data"]["seq"], i);
  }
  EXPECT_EQ(call(3, "storage.unsubscribe", json::object())["result"]["topics"], json::array());
  other.call("test.publish", {{"topic", "jobs"}, {"count", 1}});
  // Nothing more arrives: the next line is the answer to the next call, not an event.
  EXPECT_EQ(call(4, "rpc.discover", json::object())["id"], 4);
  close(w);
  // Through the client library too.
  rpc::Client cli(d.socket());
  EXPECT_TRUE(cli.call("storage.subscribe", {{"topics", {"mounts"}}})["topics"] == json({"mounts"}));
}

TEST(RpcServer, SlowSubscriberIsDroppedAndToldOnce) {
  rpc::ServerOptions o;
  o.limits.max_connection_output = 256 << 10;
  Daemon d(test_server(o));
  int slow = connect_raw(d.socket());
  ASSERT_TRUE(send_all(slow, R"({"jsonrpc":"2.0","id":1,"method":"storage.subscribe","params":{"topics":["jobs"]}})" "\n"));
  ASSERT_TRUE(json::parse(recv_line(slow)).contains("result"));
  long before = d.rss_kib();
  rpc::Client pub(d.socket());
  for (int i = 0; i < 20; ++i) pub.call("test.publish", {{"topic", "jobs"}, {"count", 100}, {"pad", 10000}});  // 20 MB
  long after = d.rss_kib();
  std::printf("slow subscriber: RSS %ld -> %ld KiB after 20 MB of events\n", before, after);
  if (kRssBoundsHold) {
    EXPECT_LT(after - before, 32 * 1024);
  }
  EXPECT_LT(served_ms(d.socket()), 1000);
  // Reading now: some events, then exactly one "dropped" notice, then nothing.
  int events = 0, dropped = 0;
  for (std::string line; !(line = recv_line(slow, 1000)).empty();) {
    json n = json::parse(line);
    if (n["params"]["topic"] == "subscription") ++dropped; else ++events;
  }
  std::printf("slow subscriber read %d events before being dropped\n", events);
  EXPECT_EQ(dropped, 1);
  EXPECT_LT(events, 2000);
  close(slow);
}

TEST(RpcServer, WatchPrintsEventsAsTheyCome) {
  Daemon d(test_server({}));
  ToolResult watch;
  std::thread t([&] {
    watch = run_tool({"timeout", "3", std::string(MOS_BIN_DIR) + "/mos-volmgr", "--socket", d.socket(), "watch",
                      "--json", "--topics", "jobs,raid"});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  rpc::Client pub(d.socket());
  pub.call("test.publish", {{"topic", "devices"}, {"count", 1}});
  pub.call("test.publish", {{"topic", "raid"}, {"count", 2}});
  t.join();
  EXPECT_EQ(watch.exit_code, 124) << watch.err;  // still watching when timeout stopped it
  std::istringstream lines(watch.out);
  std::vector<json> got;
  for (std::string l; std::getline(lines, l);) got.push_back(json::parse(l));
  ASSERT_EQ(got.size(), 2u) << watch.out;
  EXPECT_EQ(got[0]["topic"], "raid");
  EXPECT_EQ(got[1]["data"]["seq"], 1);
}

TEST(RpcServer, MutatingCallsNeedRootOrTheAdminGroup) {
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // the user must reach the socket
  rpc::DaemonOptions o;
  o.socket_path = dir / "s.sock";
  o.socket_mode = 0666;
  o.admin_group = user.group;
  std::string log = dir / "daemon.log";
  Daemon d(o, 0, log);
  const std::string cancel = R"({"jsonrpc":"2.0","id":1,"method":"storage.job_cancel","params":{"id":999}})";
  // Read-only: anyone who can connect.
  EXPECT_TRUE(user.call(d.socket(), R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks"})")["result"].is_array());
  auto r = user.call(d.socket(), cancel);
  EXPECT_EQ(r["error"]["code"], -32001);
  EXPECT_NE(r["error"]["message"].get<std::string>().find("--admin-group"), std::string::npos) << r;
  // A batch answered on the I/O thread (a model query and a refusal) is judged the same way.
  r = user.call(d.socket(), "[" + std::string(R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks"})") + "," + cancel + "]");
  ASSERT_TRUE(r.is_array() && r.size() == 2) << r;
  EXPECT_TRUE(r[0]["result"].is_array()) << r;
  EXPECT_EQ(r[1]["error"]["code"], -32001) << r;
  // A member of the admin group (supplementary) reaches the method: no such job.
  r = user.call(d.socket(), cancel, user.group);
  EXPECT_EQ(r["error"]["code"], -32002) << r;
  rpc::Client root(d.socket());
  EXPECT_EQ(rpc_error(root, "storage.job_cancel", {{"id", 998}}).first, -32002);
  d.stop(SIGTERM);
  std::ifstream f(log);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_NE(all.find("uid=" + std::to_string(user.uid) + " method=storage.job_cancel"), std::string::npos) << all;
  EXPECT_NE(all.find("uid=0 method=storage.job_cancel"), std::string::npos) << all;
  EXPECT_EQ(all.find("method=storage.list_disks"), std::string::npos) << "read-only calls are not audited";
  // listening is logged before the audit lines, i.e. after the bind.
  EXPECT_EQ(all.rfind("mos_volmgrd: listening on ", 0), 0u) << all;
}

TEST(RpcServer, SocketDirectoryAndModeUnderUmask000) {
  TempDir dir;
  mode_t old = umask(0);
  {
    rpc::DaemonOptions o;
    o.socket_path = dir / "run/s.sock";
    Daemon d(o);
    struct stat st {};
    ASSERT_EQ(stat((dir / "run").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_EQ(st.st_uid, 0u);
    ASSERT_EQ(stat(d.socket().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
  }
  umask(old);
  // Untrusted directories are refused before anything is bound, and nothing is logged as listening.
  auto refused = [&](const std::string& sub) {
    std::string log = dir / (sub + ".log");
    SandboxedChild child([&] {
      rpc::DaemonOptions o;
      use_private_dirs(o, dir.path());  // the state directory is opened before the socket is judged
      o.socket_path = dir / (sub + "/s.sock");
      o.log = std::fopen(log.c_str(), "w");
      setvbuf(o.log, nullptr, _IONBF, 0);  // the child ends with _exit
      try {
        rpc::run_daemon(o);
      } catch (const Error& e) {
        std::fprintf(o.log, "refused: %s\n", e.what());
        return 7;
      }
      return 0;
    });
    EXPECT_EQ(child.stop(0), 7);
    std::ifstream f(log);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  ASSERT_EQ(mkdir((dir / "open").c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir / "open").c_str(), 0777), 0);
  EXPECT_NE(refused("open").find("writable by group or others"), std::string::npos);
  ASSERT_EQ(mkdir((dir / "theirs").c_str(), 0755), 0);
  ASSERT_EQ(chown((dir / "theirs").c_str(), 65534, 65534), 0);
  auto out = refused("theirs");
  EXPECT_NE(out.find("owned by uid 65534"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos);
}

TEST(RpcServer, SystemdSocketActivationIsHonoured) {
  TempDir dir;
  std::string sock = dir / "activated.sock";
  Daemon d(
      [sock, home = dir.path()](const std::string&) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
        if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) _exit(9);
        if (fd != 3) {
          dup2(fd, 3);
          close(fd);
        }
        setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
        setenv("LISTEN_FDS", "1", 1);
        rpc::DaemonOptions o;
        use_private_dirs(o, home);
        o.socket_path = "/nonexistent-dir/never.sock";  // not used: the passed socket is
        rpc::run_daemon(o);
      },
      sock);
  rpc::Client c(sock);
  EXPECT_EQ(c.call("rpc.discover")["openrpc"], "1.2.6");
  EXPECT_EQ(d.stop(SIGTERM), 0);
  struct stat st {};
  EXPECT_EQ(stat(sock.c_str(), &st), 0) << "an activated socket belongs to systemd: not unlinked";
}

}  // namespace
}  // namespace mos::test
