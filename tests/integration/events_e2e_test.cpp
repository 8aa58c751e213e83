// storage.subscribe end to end on the real daemon: the real publishers (the inventory model's
// uevent/mountinfo monitor, the job scheduler) reach a subscribed connection. A loop device
// attached with losetup, a job's end and a mount made with mount(8) — all behind the daemon's
// back except the job — each arrive as a storage.event notification within a bound.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"
#include "tests/integration/subscriber.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
constexpr auto kBound = std::chrono::seconds(10);

TEST(EventsEndToEnd, SubscriberSeesLoopAttachJobEndAndMount) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon d;
  ASSERT_TRUE(d.ready());
  rpc::Client c(d.socket());
  c.call("storage.list_disks");  // the model exists before the changes
  {
    Subscriber sub(d.socket(), json{"devices", "mounts", "jobs"});

    TempDir dir;
    const std::string file = dir.path() + "/img";
    ASSERT_TRUE(run_tool({"truncate", "-s", std::to_string(128ull << 20), file}).ok());
    auto r = run_tool({"losetup", "--find", "--show", file});
    ASSERT_TRUE(r.ok()) << r.err;
    const std::string dev = r.out.substr(0, r.out.find('\n'));
    struct Detach {
      std::string dev;
      ~Detach() { run_tool({"losetup", "-d", dev}); }
    } detach{dev};

    EXPECT_TRUE(sub.wait_for(c, [&](const json& p) {
      return p.value("topic", "") == "devices" && (p.value("kind", "") == "add" || p.value("kind", "") == "change") &&
             p["data"].value("path", "") == dev;
    })) << "no devices event for " << dev << "; seen:\n" << sub.seen();

    json started = c.call("storage.checksum", {{"device", dev}, {"algo", "xxh3"}, {"background", true}});
    ASSERT_TRUE(started.contains("job_id")) << started.dump();
    const auto job_id = started["job_id"].get<uint64_t>();
    EXPECT_TRUE(sub.wait_for(c, [&](const json& p) {
      return p.value("topic", "") == "jobs" && p.value("kind", "") == "finished" && p["data"].value("id", 0ull) == job_id &&
             p["data"].value("state", "") == "succeeded";
    })) << "no jobs finished event for job " << job_id << "; seen:\n" << sub.seen();

    ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", dev}).ok());
    TempDir mnt;
    ASSERT_TRUE(run_tool({"mount", dev, mnt.path()}).ok());
    MountGuard unmount(mnt.path());
    EXPECT_TRUE(sub.wait_for(c, [&](const json& p) {
      return p.value("topic", "") == "mounts" && p.value("kind", "") == "mounted" &&
             p["data"].dump().find(mnt.path()) != std::string::npos;
    })) << "no mounts event for " << mnt.path() << "; seen:\n" << sub.seen();
    EXPECT_EQ(d.stop(SIGTERM), 0);  // closes the subscriber's connection: its reader ends
  }
}

}  // namespace
}  // namespace mos::test
