// Fair share and bounded shutdown (issue 19, item 2), against the daemon in its default device
// configuration (no --allow-devices) with a caller who is not root: one uid's connections,
// subscriptions and jobs are capped while root still gets in (reserved slots); unread output of
// all connections together is capped; SIGTERM ends the daemon within --shutdown-timeout even with
// a worker blocked in the kernel.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/context.hpp"
#include "rpc/daemon.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
const std::string kCheapCall = R"({"jsonrpc":"2.0","id":1,"method":"storage.jobs"})";

// n connections to sock opened one after another as user (its own primary group, plus `extra`), each
// sending `request` once: what each answered. The connections stay open until destruction.
class HeldConnections {
 public:
  HeldConnections(const TestUser& user, const std::string& sock, int n, const std::string& request = kCheapCall,
                  const std::string& extra = {}) {
    int results[2], release[2];
    EXPECT_EQ(pipe2(results, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(release, O_CLOEXEC), 0);
    passwd* pw = getpwnam(user.name.c_str());  // its primary group is its own, not user.group
    group* x = extra.empty() ? nullptr : getgrnam(extra.c_str());
    gid_t gid = pw ? pw->pw_gid : 65534, extra_gid = x ? x->gr_gid : 0;
    pid_ = fork();
    if (pid_ == 0) {
      close(results[0]);
      close(release[1]);
      if (setgroups(extra.empty() ? 0 : 1, &extra_gid) != 0 || setgid(gid) != 0 || setuid(user.uid) != 0) _exit(2);
      std::vector<int> fds;
      for (int i = 0; i < n; ++i) {
        int fd = connect_raw(sock);
        std::string got = fd < 0 ? "connect failed" : (send_all(fd, request + "\n"), recv_line(fd, 3000));
        fds.push_back(fd);
        got += "\n";
        (void)!write(results[1], got.data(), got.size());
      }
      char c;
      (void)!read(release[0], &c, 1);  // until the parent lets go
      _exit(0);
    }
    close(results[1]);
    close(release[0]);
    release_ = release[1];
    std::string all;
    char buf[4096];
    for (ssize_t r; std::count(all.begin(), all.end(), '\n') < n && (r = read(results[0], buf, sizeof buf)) > 0;)
      all.append(buf, static_cast<size_t>(r));
    close(results[0]);
    for (size_t start = 0, nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1)
      answers.push_back(all.substr(start, nl - start));
  }
  ~HeldConnections() {
    close(release_);
    waitpid(pid_, nullptr, 0);
  }
  HeldConnections(const HeldConnections&) = delete;
  HeldConnections& operator=(const HeldConnections&) = delete;

  std::vector<std::string> answers;  // one line per connection: the answer or the refusal

 private:
  pid_t pid_ = -1;
  int release_ = -1;
};

bool served(const std::string& answer) { return answer.find("\"result\"") != std::string::npos; }

// Root's connection: served (true) or refused.
bool root_served(const std::string& sock) {
  int fd = connect_raw(sock);
  if (fd < 0) return false;
  send_all(fd, kCheapCall + "\n");
  bool ok = served(recv_line(fd, 3000));
  close(fd);
  return ok;
}

// The real daemon, default device policy, a socket the user can reach.
std::unique_ptr<SandboxedDaemon> daemon_for(const TestUser& user, const std::function<void(rpc::DaemonOptions&)>& tweak) {
  auto d = std::make_unique<SandboxedDaemon>("", [&](rpc::DaemonOptions& o) {
    o.socket_mode = 0666;
    o.admin_group = user.group;
    tweak(o);
  });
  EXPECT_EQ(chmod(d->dir().c_str(), 0755), 0);
  return d;
}

TEST(RpcFairShare, OneUserIsRefusedBeyondItsShareWhileRootStillConnects) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  {
    auto d = daemon_for(user, [](rpc::DaemonOptions& o) {
      o.limits.max_connections = 100;
      o.limits.max_connections_per_uid = 3;
    });
    ASSERT_TRUE(d->ready());
    HeldConnections held(user, d->socket(), 4);
    ASSERT_EQ(held.answers.size(), 4u);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(served(held.answers[i])) << held.answers[i];
    EXPECT_NE(held.answers[3].find("--max-connections-per-uid"), std::string::npos) << held.answers[3];
    EXPECT_TRUE(root_served(d->socket())) << "root has no per-uid share";
  }
  {
    // A user filling the table up to the reserved slots leaves them to root and admins.
    auto d = daemon_for(user, [](rpc::DaemonOptions& o) {
      o.limits.max_connections = 6;
      o.limits.reserved_admin_connections = 2;
      o.limits.max_connections_per_uid = 100;
    });
    ASSERT_TRUE(d->ready());
    HeldConnections held(user, d->socket(), 5);
    ASSERT_EQ(held.answers.size(), 5u);
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(served(held.answers[i])) << held.answers[i];
    EXPECT_NE(held.answers[4].find("--reserved-admin-connections"), std::string::npos) << held.answers[4];
    EXPECT_TRUE(root_served(d->socket())) << "root gets a reserved slot";
    // An admin-group member is an admin: it may take a reserved slot too.
    HeldConnections admin(user, d->socket(), 1, kCheapCall, user.group);
    EXPECT_TRUE(served(admin.answers.at(0))) << admin.answers.at(0);
  }
}

TEST(RpcFairShare, OneUserHoldsABoundedNumberOfSubscriptions) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  auto d = daemon_for(user, [](rpc::DaemonOptions& o) { o.limits.max_subscriptions_per_uid = 2; });
  ASSERT_TRUE(d->ready());
  const std::string subscribe = R"({"jsonrpc":"2.0","id":1,"method":"storage.subscribe","params":{"topics":["jobs"]}})";
  HeldConnections held(user, d->socket(), 3, subscribe);
  ASSERT_EQ(held.answers.size(), 3u);
  EXPECT_TRUE(served(held.answers[0])) << held.answers[0];
  EXPECT_TRUE(served(held.answers[1])) << held.answers[1];
  auto refused = json::parse(held.answers[2], nullptr, false);
  EXPECT_EQ(refused["error"]["code"], -32000) << held.answers[2];
  EXPECT_NE(held.answers[2].find("--max-subscriptions-per-uid"), std::string::npos) << held.answers[2];
  // Root is not counted against any share.
  int fd = connect_raw(d->socket());
  ASSERT_GE(fd, 0);
  send_all(fd, subscribe + "\n");
  EXPECT_TRUE(served(recv_line(fd, 3000)));
  close(fd);
}

TEST(RpcFairShare, OneUserHasABoundedNumberOfUnfinishedJobs) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  LoopImage img(2ull << 30);  // sparse: a checksum of it runs for a while, not microseconds
  auto d = daemon_for(user, [](rpc::DaemonOptions& o) { o.max_jobs_per_uid = 1; });
  ASSERT_TRUE(d->ready());
  json call = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "storage.checksum"},
               {"params", {{"device", img.dev()}, {"algo", "xxh64"}, {"background", true}}}};
  json batch = json::array({call, call});
  batch[1]["id"] = 2;
  // One batch: the second job is asked for while the first is still running.
  auto r = user.call(d->socket(), batch.dump(), user.group);
  ASSERT_TRUE(r.is_array() && r.size() == 2) << r;
  EXPECT_TRUE(r[0].contains("result")) << r;
  EXPECT_EQ(r[1]["error"]["code"], -32000) << r;
  EXPECT_NE(r[1]["error"]["message"].get<std::string>().find("--max-jobs-per-uid"), std::string::npos) << r;
  // Root has no share: both of its jobs start.
  auto root = d->rpc_raw(batch);
  ASSERT_TRUE(root.is_array() && root.size() == 2) << root;
  EXPECT_TRUE(root[0].contains("result") && root[1].contains("result")) << root;
  for (const auto& answer : root)
    if (answer.contains("result")) d->rpc_raw({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "storage.job_cancel"},
                                               {"params", {{"id", answer["result"]["job_id"]}}}});
  d->rpc_raw({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "storage.job_cancel"}, {"params", {{"id", r[0]["result"]["job_id"]}}}});
}

TEST(RpcFairShare, UnreadOutputOfAllConnectionsTogetherIsCapped) {
  if (!kRssBoundsHold) GTEST_SKIP() << "RSS says nothing under the sanitizer";
  rpc::DaemonOptions o;
  o.limits.max_total_output = 8 << 20;  // each of 24 slow readers may hold 4 MiB alone: 96 MiB
  Daemon d(o);
  long before = d.rss_kib();
  std::string requests;
  for (int i = 0; i < 100; ++i) requests += R"({"jsonrpc":"2.0","id":1,"method":"rpc.discover"})" "\n";
  std::vector<int> slow;
  for (int i = 0; i < 24; ++i) {
    int fd = connect_raw(d.socket());
    ASSERT_GE(fd, 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    (void)!send(fd, requests.data(), requests.size(), MSG_NOSIGNAL);  // and never read
    slow.push_back(fd);
  }
  // Until the daemon has answered all it will (its CPU time stops growing), at most 30 s.
  for (int i = 0; i < 60; ++i) {
    double cpu = d.cpu_seconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (d.cpu_seconds() - cpu < 0.02) break;
  }
  long grown = d.rss_kib() - before;
  std::printf("24 slow readers: RSS grew %ld KiB\n", grown);
  EXPECT_LT(grown, 48 * 1024) << "unread answers of all connections passed --max-total-output";
  // A client that reads is still served.
  EXPECT_LT(served_ms(d.socket()), 2000);
  for (int fd : slow) close(fd);
}

// A registry with one method that blocks in the kernel: open() of a FIFO nobody writes.
rpc::Registry blocking_registry() {
  rpc::Registry r;
  r.add(rpc::Method{"test.block", "opens a FIFO for reading (blocks until a writer comes)", "",
                    rpc::obj_schema({{"fifo", rpc::str_schema("path")}}, {"fifo"}), json::object(), false,
                    [](const json& p, engine::Context&) -> json {
                      int fd = open(p["fifo"].get<std::string>().c_str(), O_RDONLY | O_CLOEXEC);
                      if (fd >= 0) close(fd);
                      return true;
                    }});
  return r;
}

TEST(RpcFairShare, SigtermEndsTheDaemonWithinTheBoundDespiteAWorkerStuckInTheKernel) {
  MOS_REQUIRE_ROOT();
  TempDir dir;
  std::string fifo = dir / "never-written";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string log = dir / "daemon.log";
  Daemon d([log](const std::string& sock) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    rpc::ServerOptions o;
    o.socket_path = sock;
    o.handle_signals = true;
    o.limits.shutdown_timeout_seconds = 2;
    o.log = std::fopen(log.c_str(), "w");
    setvbuf(o.log, nullptr, _IONBF, 0);
    engine::Context ctx;
    rpc::Registry reg = blocking_registry();
    rpc::Server server(o, reg, ctx);
    server.run();
  });
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  send_all(fd, json({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "test.block"}, {"params", {{"fifo", fifo}}}}).dump() + "\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the worker is in open() now
  auto t0 = std::chrono::steady_clock::now();
  kill(d.pid(), SIGTERM);
  while (d.alive() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  bool ended = !d.alive();
  if (!ended) {  // unblock it, so the test itself ends
    int w = open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w >= 0) close(w);
  }
  EXPECT_TRUE(ended) << "still running " << took << " ms after SIGTERM";
  EXPECT_LT(took, 2000 + 3000) << "the bound is --shutdown-timeout 2 s";
  EXPECT_GE(took, 1500) << "the stuck worker was waited for first";
  close(fd);
  d.stop(SIGKILL);
  std::ifstream f(log);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_NE(all.find("abandoned: test.block (uid 0"), std::string::npos) << all;
}

}  // namespace
}  // namespace mos::test
