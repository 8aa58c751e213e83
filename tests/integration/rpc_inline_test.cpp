// Calls the daemon answers from memory on its I/O thread (the inventory queries, storage.jobs)
// keep every rule of the worker path: answers in request order per connection when inline and
// worker calls are pipelined, the response budget, request metrics, and a model made stale by
// our own mutation (or a kernel uevent) is never served: the next query shows the change.
// blkid is the oracle for what the device carries.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <string>

#include "engine/inventory/monitor.hpp"
#include "rpc/client.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;

std::string call(const std::string& method, int id, const json& params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}}.dump();
}

const json* find_path(const json& list, const std::string& dev) {
  for (const auto& x : list)
    if (x.value("path", "") == dev) return &x;
  return nullptr;
}

// The kernel's block uevents, heard as the daemon hears them (multicast group 1, no udev).
class UeventListener {
 public:
  UeventListener() : fd_(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT)) {
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = 1;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE() << "uevent socket";
  }
  ~UeventListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  // True once a block uevent ACTION for the device NAME arrives (within timeout); the datagram is
  // read with the parser the daemon's monitor uses.
  bool wait_for(const std::string& action, const std::string& name, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[8192];
      ssize_t got = ::recv(fd_, buf, sizeof buf, 0);
      if (got <= 0) continue;
      auto ev = engine::parse_uevent(buf, static_cast<size_t>(got));
      if (ev && ev->subsystem == "block" && ev->action == action && ev->devname == name) return true;
    }
  }

 private:
  int fd_;
};

// mos_rpc_requests_total for method with code 0, from the Prometheus text of storage.metrics.
long successes(rpc::Client& c, const std::string& method) {
  std::string text = c.call("storage.metrics").get<std::string>();
  std::regex line("mos_rpc_requests_total\\{[^}]*method=\"" + std::regex_replace(method, std::regex("\\."), "\\.") +
                  "\",code=\"0\"[^}]*\\} ([0-9]+)");
  std::smatch m;
  return std::regex_search(text, m, line) ? std::stol(m[1]) : 0;
}

TEST(RpcInline, PipelinedInlineAndWorkerCallsAnswerInOrderAndAreCounted) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64ull << 20);
  Daemon d;
  rpc::Client c(d.socket());
  long disks0 = successes(c, "storage.list_disks"), jobs0 = successes(c, "storage.jobs");
  // One write: inline calls (list_disks, jobs, list_partitions) around worker calls (rpc.discover,
  // storage.usage of an unmounted path: an error) on one connection.
  const std::vector<std::string> methods = {"storage.list_disks", "rpc.discover", "storage.jobs", "storage.list_partitions",
                                            "storage.metrics", "storage.list_disks"};
  std::string burst;
  constexpr int kRounds = 40;
  for (int round = 0; round < kRounds; ++round)
    for (size_t i = 0; i < methods.size(); ++i) burst += call(methods[i], round * 100 + static_cast<int>(i)) + "\n";
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, burst));
  for (int round = 0; round < kRounds; ++round)
    for (size_t i = 0; i < methods.size(); ++i) {
      std::string line = recv_line(fd);
      ASSERT_FALSE(line.empty()) << "no answer to " << methods[i] << " in round " << round;
      json r = json::parse(line);
      ASSERT_EQ(r["id"], round * 100 + static_cast<int>(i)) << "out of order: " << line.substr(0, 200);
      ASSERT_TRUE(r.contains("result")) << line.substr(0, 300);
      if (methods[i] == "storage.list_disks") {
        const json* ours = find_path(r["result"], img.dev());
        ASSERT_NE(ours, nullptr) << img.dev() << " missing";
        EXPECT_EQ((*ours)["size_bytes"], 64ull << 20);
      }
    }
  close(fd);
  // Counted like any other call: 2 list_disks and 1 jobs per round, nothing else on this daemon.
  EXPECT_EQ(successes(c, "storage.list_disks") - disks0, 2 * kRounds);
  EXPECT_EQ(successes(c, "storage.jobs") - jobs0, kRounds);
}

TEST(RpcInline, ResponseBudgetAppliesToInlineAnswers) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64ull << 20);  // list_disks names at least this device: a few hundred bytes
  rpc::DaemonOptions o;
  o.limits.max_response_bytes = 200;
  Daemon d(o);
  int fd = connect_raw(d.socket());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(fd, call("storage.list_disks", 7) + "\n" + call("storage.jobs", 8) + "\n"));
  json r = json::parse(recv_line(fd));
  EXPECT_EQ(r["id"], 7);
  EXPECT_EQ(r["error"]["code"], -32603) << r;
  EXPECT_NE(r["error"]["message"].get<std::string>().find("200-byte budget"), std::string::npos) << r;
  r = json::parse(recv_line(fd));  // a small answer still fits: the connection keeps serving
  EXPECT_EQ(r["id"], 8);
  EXPECT_TRUE(r["result"].is_array()) << r;
  // A batch of small inline answers past the budget: one error for the whole batch.
  std::string batch = "[";
  for (int i = 0; i < 8; ++i) batch += (i ? "," : "") + call("storage.jobs", i);
  ASSERT_TRUE(send_all(fd, batch + "]\n"));
  r = json::parse(recv_line(fd));
  ASSERT_TRUE(r.is_object()) << r;
  EXPECT_EQ(r["error"]["code"], -32603) << r;
  EXPECT_NE(r["error"]["message"].get<std::string>().find("send smaller batches"), std::string::npos) << r;
  close(fd);
}

TEST(RpcInline, OwnMutationAndUeventsAreShownByTheVeryNextQuery) {
  MOS_REQUIRE_ROOT();
  auto img = std::make_unique<LoopImage>(64ull << 20);
  const std::string dev = img->dev();
  Daemon d;
  rpc::Client c(d.socket());
  for (int i = 0; i < 20; ++i) ASSERT_NE(find_path(c.call("storage.list_disks"), dev), nullptr);  // model warm
  ASSERT_EQ(find_path(c.call("storage.list_filesystems"), dev), nullptr);
  // Our own mutation invalidates the model before it answers: the next inline-eligible query
  // must not be served from the old model.
  c.call("storage.create_filesystem", {{"device", dev}, {"fstype", "swap"}, {"label", "INLINET"}});
  json fss = c.call("storage.list_filesystems");
  const json* fs = find_path(fss, dev);
  ASSERT_NE(fs, nullptr) << dev << " not listed right after our mkswap";
  EXPECT_EQ((*fs)["fstype"], "swap");
  EXPECT_EQ((*fs)["label"], "INLINET");
  auto probe = blkid_probe(dev);
  EXPECT_EQ(probe["TYPE"], "swap");
  EXPECT_EQ((*fs)["uuid"], probe["UUID"]);
  // Detached behind the daemon's back (a kernel uevent): gone in the very next query after the
  // kernel announced it. The detach itself may finish after our close returns (the daemon may
  // hold the device open for a re-probe then; the kernel clears it at the last close), so the
  // test first hears the announcement the daemon hears.
  UeventListener uevents;
  img.reset();
  ASSERT_TRUE(uevents.wait_for("change", dev.substr(dev.rfind('/') + 1), std::chrono::seconds(10)))
      << "no change uevent for " << dev << " after detach";
  EXPECT_EQ(find_path(c.call("storage.list_disks"), dev), nullptr) << dev << " still listed after detach";
}

}  // namespace
}  // namespace mos::test
