// The health cache behind storage.inventory and storage.metrics: "not checked yet" before the
// poller reached a disk, one entry per disk (put returns what it replaced), removal and retain;
// the poller's pass over a fake reader (events on a changed verdict only, disks outside the policy
// named, never read); the metrics families from the cache with hostile label text escaped.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "engine/health/health_cache.hpp"
#include "engine/health/health_poller.hpp"
#include "engine/inventory/events.hpp"
#include "engine/jobs/metrics_health.hpp"

namespace mos::engine::health {
namespace {

CachedHealth entry(const std::string& disk, Status s, std::vector<std::string> reasons, int64_t at) {
  CachedHealth e;
  e.health.disk = disk;
  e.health.verdict.status = s;
  e.health.verdict.reasons = std::move(reasons);
  e.checked_at = at;
  return e;
}

TEST(HealthCache, SummaryBeforeAndAfterTheFirstCheck) {
  HealthCache cache;
  EXPECT_EQ(cache.summary("/dev/sda"),
            (json{{"status", "unknown"}, {"reasons", {"not checked yet"}}, {"checked_at", nullptr}}));
  EXPECT_FALSE(cache.put(entry("/dev/sda", Status::ok, {}, 100)));
  auto before = cache.put(entry("/dev/sda", Status::warning, {"attribute 5 raw value 8"}, 200));
  ASSERT_TRUE(before);
  EXPECT_EQ(before->health.verdict.status, Status::ok);
  EXPECT_EQ(cache.summary("/dev/sda"),
            (json{{"status", "warning"}, {"reasons", {"attribute 5 raw value 8"}}, {"checked_at", 200}}));
  EXPECT_EQ(cache.entries().size(), 1u);
}

TEST(HealthCache, RetainAndEraseDropGoneDisks) {
  HealthCache cache;
  cache.put(entry("/dev/sda", Status::ok, {}, 1));
  cache.put(entry("/dev/sdb", Status::ok, {}, 1));
  cache.put(entry("/dev/nvme0n1", Status::ok, {}, 1));
  cache.retain({"/dev/sda", "/dev/nvme0n1"});
  EXPECT_FALSE(cache.get("/dev/sdb"));
  cache.erase("/dev/sda");
  ASSERT_EQ(cache.entries().size(), 1u);
  EXPECT_EQ(cache.entries()[0].health.disk, "/dev/nvme0n1");
}

TEST(HealthCache, AddHealthGivesEveryDiskObjectItsSummaryOrNull) {
  HealthCache cache;
  cache.put(entry("/dev/sda", Status::failing, {"x"}, 5));
  json disks = json::array({{{"path", "/dev/sda"}}, {{"path", "/dev/sdb"}}});
  add_health(disks, &cache);
  EXPECT_EQ(disks[0]["health"]["status"], "failing");
  EXPECT_EQ(disks[1]["health"]["reasons"], json::array({"not checked yet"}));
  add_health(disks, nullptr);
  EXPECT_TRUE(disks[0]["health"].is_null());
}

TEST(HealthPoller, PassReadsAllowedDisksAndPublishesOnlyChangedVerdicts) {
  HealthCache cache;
  EventBus bus;
  std::vector<Event> seen;
  bus.subscribe([&](const Event& e) { seen.push_back(e); });
  std::vector<std::string> read;
  Status next = Status::ok;
  HealthPoller::Sources sources;
  sources.list_disks = [] { return std::vector<std::string>{"/dev/sda", "/dev/vda"}; };
  sources.reader = [&](const std::string& disk, const Policy&) {
    read.push_back(disk);
    DiskHealth h;
    h.disk = disk;
    h.verdict.status = next;
    if (next != Status::ok) h.verdict.reasons = {"reason"};
    return h;
  };
  int renders = 0;
  sources.after_pass = [&] { ++renders; };
  HealthPoller poller(cache, Policy::from_globs("/dev/sd*"), &bus, sources, std::chrono::seconds(0));
  poller.pass();
  poller.pass();  // same verdict: no event
  EXPECT_TRUE(seen.empty());
  next = Status::failing;
  poller.pass();
  EXPECT_EQ(read, (std::vector<std::string>{"/dev/sda", "/dev/sda", "/dev/sda"}));  // vda never read
  EXPECT_EQ(renders, 3);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].topic, "health");
  EXPECT_EQ(seen[0].kind, "change");
  EXPECT_EQ(seen[0].data["disk"], "/dev/sda");
  EXPECT_EQ(seen[0].data["old_status"], "ok");
  EXPECT_EQ(seen[0].data["status"], "failing");
  EXPECT_EQ(seen[0].data["reasons"], json::array({"reason"}));
  EXPECT_EQ(cache.summary("/dev/vda")["reasons"], json::array({"not checked: outside --allow-devices"}));
  EXPECT_TRUE(cache.summary("/dev/vda")["checked_at"].is_null());
}

TEST(HealthMetrics, StateSetCountersAndEscapedLabelsFromTheCacheOnly) {
  HealthCache cache;
  CachedHealth nvme = entry("/dev/nvme0n1", Status::warning, {"percentage used 100%"}, 1700000000);
  nvme.health.temperature_celsius = 40;
  nvme.health.nvme = NvmeHealth{};
  nvme.health.nvme->percentage_used = 100;
  nvme.health.nvme->media_errors = 3;
  cache.put(nvme);
  CachedHealth ata = entry("/dev/sd\"a\n", Status::ok, {}, 1700000001);  // hostile text in a label
  ata.health.ata = AtaSmartData{};
  AtaAttribute pending;
  pending.id = 197;
  pending.raw = 2;
  ata.health.ata->attributes.push_back(pending);
  cache.put(ata);
  cache.put(entry("/dev/vda", Status::unknown, {"not checked: outside --allow-devices"}, 0));
  CachedHealth unchecked = entry("/dev/vdb", Status::unknown, {"x"}, 0);
  unchecked.checked_at.reset();
  cache.put(unchecked);

  MetricsText out;
  health_metrics(&cache, Policy{}, out);
  const std::string text = out.text();
  EXPECT_NE(text.find("mos_disk_health_status{disk=\"/dev/nvme0n1\",status=\"warning\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mos_disk_health_status{disk=\"/dev/nvme0n1\",status=\"ok\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("mos_disk_temperature_celsius{disk=\"/dev/nvme0n1\"} 40\n"), std::string::npos);
  EXPECT_NE(text.find("mos_disk_percentage_used{disk=\"/dev/nvme0n1\"} 100\n"), std::string::npos);
  EXPECT_NE(text.find("mos_disk_media_errors_total{disk=\"/dev/nvme0n1\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("mos_disk_ata_sectors{disk=\"/dev/sd\\\"a\\n\",kind=\"pending\"} 2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("/dev/vdb"), std::string::npos);  // never checked: no samples
}

}  // namespace
}  // namespace mos::engine::health
