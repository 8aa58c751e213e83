// The daemon's health poller (--health-interval) end to end: with a 1 s interval the cache fills
// for the test's loop device (unknown, with the reason), storage.inventory and storage.list_disks
// show it to a caller who is neither root nor an admin, storage.metrics carries it, and the entry
// goes when the device does. A verdict change (the poller's reader replaced through
// DaemonOptions::health_reader, the constructor seam) reaches a subscriber as a storage.event.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "engine/health/disk_health.hpp"
#include "tests/integration/subscriber.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
constexpr auto kBound = std::chrono::seconds(15);

// The disk object of dev in a storage.list_disks array (null when absent).
json disk_entry(const json& disks, const std::string& dev) {
  for (const auto& d : disks)
    if (d.value("path", "") == dev) return d;
  return nullptr;
}

// Polls until pred(result of method as user) holds or the bound passes; the last result.
template <class Pred>
json wait_for_result(const TestUser& user, const SandboxedDaemon& daemon, const std::string& method, Pred pred) {
  json last;
  for (auto end = std::chrono::steady_clock::now() + kBound; std::chrono::steady_clock::now() < end;) {
    json r = user.call_method(daemon.socket(), method, json::object());
    last = r.contains("result") ? r["result"] : r;
    if (r.contains("result") && pred(last)) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return last;
}

std::string status_line(const std::string& dev, const std::string& status, int value) {
  return "mos_disk_health_status{disk=\"" + dev + "\",status=\"" + status + "\"} " + std::to_string(value) + "\n";
}

TEST(HealthPollerDaemon, FillsInventoryAndMetricsForNonAdminsAndForgetsARemovedDisk) {
  MOS_REQUIRE_ROOT();
  std::optional<LoopImage> img(std::in_place, 16 << 20);
  const std::string dev = img->dev();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  SandboxedDaemon daemon("/dev/loop*", [](rpc::DaemonOptions& o) {
    o.socket_mode = 0666;
    o.health_interval_seconds = 1;
  });
  ASSERT_TRUE(daemon.ready());
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);  // the user must reach the socket

  // Until one whole pass shows: every disk either checked or named as outside the policy.
  json inv = wait_for_result(user, daemon, "storage.inventory", [&](const json& r) {
    for (const auto& d : r["disks"])
      if (!d["health"].is_object() || d["health"]["reasons"] == json::array({"not checked yet"})) return false;
    json d = disk_entry(r["disks"], dev);
    return d.is_object() && !d["health"]["checked_at"].is_null();
  });
  json health = disk_entry(inv["disks"], dev)["health"];
  ASSERT_TRUE(health.is_object()) << inv.dump().substr(0, 2000);
  EXPECT_EQ(health["status"], "unknown");
  EXPECT_EQ(health["reasons"], json::array({"loop devices carry no SMART data"}));
  EXPECT_TRUE(health["checked_at"].is_number_integer()) << health;
  // A disk outside --allow-devices is named, never asked.
  for (const auto& d : inv["disks"]) {
    if (!d["health"]["checked_at"].is_null()) continue;
    EXPECT_EQ(d["health"]["reasons"], json::array({"not checked: outside --allow-devices"})) << d;
  }

  json listed = user.call_method(daemon.socket(), "storage.list_disks", json::object());
  ASSERT_TRUE(listed.contains("result")) << listed;
  EXPECT_EQ(disk_entry(listed["result"], dev)["health"]["status"], "unknown");

  json metrics = user.call_method(daemon.socket(), "storage.metrics", json::object());
  ASSERT_TRUE(metrics.contains("result")) << metrics;
  const std::string text = metrics["result"].get<std::string>();
  EXPECT_NE(text.find("# TYPE mos_disk_health_status gauge\n"), std::string::npos);
  EXPECT_NE(text.find(status_line(dev, "unknown", 1)), std::string::npos) << text;
  EXPECT_NE(text.find(status_line(dev, "ok", 0)), std::string::npos) << text;
  EXPECT_NE(text.find("mos_disk_health_checked_timestamp_seconds{disk=\"" + dev + "\"} "), std::string::npos);

  img.reset();  // detached: the entry goes with the disk
  json gone = wait_for_result(user, daemon, "storage.metrics", [&](const json& r) {
    return r.is_string() && r.get<std::string>().find("disk=\"" + dev + "\"") == std::string::npos;
  });
  EXPECT_EQ(gone.get<std::string>().find("disk=\"" + dev + "\""), std::string::npos);
}

// Reads the disk as the real poller would, except that the test's disk reports ok until the flag
// file exists, then failing.
engine::health::DiskHealth flagged_reader(const std::string& disk, const engine::Policy& policy,
                                          const std::string& test_disk, const std::string& flag) {
  if (disk != test_disk) return engine::health::read_disk_health(disk, policy, false);
  engine::health::DiskHealth h;
  h.disk = disk;
  h.transport = "ata";
  h.verdict.status = engine::health::Status::ok;
  struct stat st {};
  if (stat(flag.c_str(), &st) == 0)
    h.verdict.raise(engine::health::Status::failing, "attribute 5 (Reallocated_Sector_Ct) at or below its threshold");
  return h;
}

TEST(HealthPollerDaemon, VerdictChangeIsAStorageEventAndShowsInInventoryAndMetrics) {
  MOS_REQUIRE_ROOT();
  LoopImage img(16 << 20);
  TempDir flags;
  const std::string flag = flags.path() + "/failing";
  SandboxedDaemon daemon("/dev/loop*", [&](rpc::DaemonOptions& o) {
    o.health_interval_seconds = 1;
    o.health_reader = [dev = img.dev(), flag](const std::string& disk, const engine::Policy& policy) {
      return flagged_reader(disk, policy, dev, flag);
    };
  });
  ASSERT_TRUE(daemon.ready());
  rpc::Client c(daemon.socket());
  Subscriber sub(daemon.socket(), json{"health"});
  // However the test ends, the daemon stops first, which closes the subscriber's connection: its
  // reader ends and the Subscriber's destructor can join it.
  struct StopDaemon {
    SandboxedDaemon& daemon;
    int status = -1;
    bool stopped = false;
    void now() {
      if (!stopped) status = daemon.stop(SIGTERM), stopped = true;
    }
    ~StopDaemon() { now(); }
  } stop{daemon};
  auto ok_seen = [&] {
    json d = disk_entry(c.call("storage.inventory")["disks"], img.dev());
    return d.is_object() && d["health"]["status"] == "ok";
  };
  for (auto end = std::chrono::steady_clock::now() + kBound; !ok_seen() && std::chrono::steady_clock::now() < end;)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(ok_seen());
  std::ofstream(flag).put('1');

  json change;
  sub.wait_for(c, [&](const json& p) {
    if (p.value("topic", "") != "health" || p["data"].value("disk", "") != img.dev()) return false;
    change = p;
    return true;
  }, kBound);
  ASSERT_FALSE(change.is_null()) << "no health event for " << img.dev();
  EXPECT_EQ(change["kind"], "change");
  EXPECT_EQ(change["data"]["old_status"], "ok");
  EXPECT_EQ(change["data"]["status"], "failing");
  EXPECT_EQ(change["data"]["reasons"], json::array({"attribute 5 (Reallocated_Sector_Ct) at or below its threshold"}));
  EXPECT_TRUE(change["data"]["checked_at"].is_number_integer());

  json d = disk_entry(c.call("storage.inventory")["disks"], img.dev());
  EXPECT_EQ(d["health"]["status"], "failing") << d;
  const std::string text = c.call("storage.metrics").get<std::string>();
  EXPECT_NE(text.find(status_line(img.dev(), "failing", 1)), std::string::npos) << text;
  EXPECT_NE(text.find(status_line(img.dev(), "ok", 0)), std::string::npos) << text;

  stop.now();
  EXPECT_EQ(stop.status, 0);
  {
    size_t health_events = 0;
    for (const auto& e : sub.events())
      health_events += e["params"].value("topic", "") == "health" && e["params"]["data"].value("disk", "") == img.dev();
    EXPECT_EQ(health_events, 1u) << "one change, one event (later passes say the same)";
  }
}

}  // namespace
}  // namespace mos::test
