// mos_sysvol layout and disk selection as pure functions over synthetic disks.
#include <gtest/gtest.h>

#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/layout.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

DiskFacts blank_disk(const std::string& name, uint64_t gib, bool rotational = false) {
  DiskFacts f;
  f.device.path = "/dev/" + name;
  f.device.name = name;
  f.device.kind = "disk";
  f.device.size_bytes = gib * kGiB;
  f.device.rotational = rotational;
  return f;
}

std::vector<std::string> paths(const std::vector<Device>& v) {
  std::vector<std::string> out;
  for (const auto& d : v) out.push_back(d.path);
  return out;
}

TEST(SysvolLayout, SwapRuleShrinksOnSmallDisks) {
  EXPECT_EQ(default_swap_gib(8 * kGiB), 1u);
  EXPECT_EQ(default_swap_gib(16 * kGiB), 2u);
  EXPECT_EQ(default_swap_gib(31 * kGiB), 3u);
  EXPECT_EQ(default_swap_gib(2000 * kGiB), 4u);
}

TEST(SysvolLayout, FivePartitionsAndTheFourKnEsp) {
  Layout l = plan_layout("/dev/x", 64 * kGiB, 512, default_config());
  ASSERT_EQ(l.partitions.size(), 5u);
  EXPECT_EQ(l.partitions[0].name, "mosbios");
  EXPECT_EQ(l.partitions[0].size_bytes, kMiB);
  EXPECT_EQ(l.partitions[1].size_bytes, 100 * kMiB);
  EXPECT_EQ(l.partitions[2].size_bytes, kGiB);
  EXPECT_EQ(l.partitions[3].size_bytes, 4 * kGiB);
  EXPECT_FALSE(l.partitions[4].size_bytes);
  EXPECT_EQ(plan_layout("/dev/x", 64 * kGiB, 4096, default_config()).partitions[1].size_bytes, 260 * kMiB);
  // FAT32 needs at least 65525 clusters: 4 KiB clusters on a 4Kn disk.
  EXPECT_GE(260 * kMiB / 4096, 65525u);
}

TEST(SysvolLayout, TooSmallOrOversizedRequestsAreRefused) {
  EXPECT_THROW(plan_layout("/dev/x", 8 * kGiB - kMiB, 512, default_config()), Error);
  Config c = default_config();
  c.data_size_gib = 10;
  EXPECT_THROW(plan_layout("/dev/x", 12 * kGiB, 512, c), Error);
  EXPECT_NO_THROW(plan_layout("/dev/x", 16 * kGiB, 512, c));
}

TEST(SysvolSelect, OnlyBlankIdleBigWholeDisks) {
  std::vector<DiskFacts> in;
  in.push_back(blank_disk("sda", 100));
  auto sig = blank_disk("sdb", 100);
  sig.device.fstype = "ntfs";
  in.push_back(sig);
  auto unnamed = blank_disk("sdc", 100);
  unnamed.unnamed_content = "holds data that no prober names at offset 4096";
  in.push_back(unnamed);
  auto small = blank_disk("sdd", 4);
  in.push_back(small);
  auto removable = blank_disk("sde", 100);
  removable.device.removable = true;
  in.push_back(removable);
  auto busy = blank_disk("sdf", 100);
  busy.busy = "mounted at /mnt";
  in.push_back(busy);
  auto root = blank_disk("sdg", 100);
  root.holds_root = true;
  in.push_back(root);
  auto gpt = blank_disk("sdh", 100);
  gpt.device.pttype = "gpt";
  in.push_back(gpt);
  // A btrfs whose primary superblock is gone but whose mirror holds: damaged, not blank.
  auto damaged = blank_disk("sdi", 100);
  damaged.device.fstype = "btrfs";
  damaged.device.usage = "filesystem";
  damaged.device.damaged = "primary superblock unreadable; copy at 67108864 (btrfs mirror 1, generation 7) is valid";
  in.push_back(damaged);
  Selection s = select_disks(in, default_config());
  EXPECT_EQ(paths(s.chosen), std::vector<std::string>{"/dev/sda"});
  EXPECT_EQ(s.refused.size(), 8u);
  for (const auto& r : s.refused) {
    if (r.path == "/dev/sdi") {
      EXPECT_NE(r.reason.find("whose primary superblock is damaged"), std::string::npos) << r.reason;
    }
  }
}

TEST(SysvolSelect, TwoLargestOfOneClass) {
  std::vector<DiskFacts> in = {blank_disk("sda", 500, true), blank_disk("sdb", 200), blank_disk("sdc", 100),
                               blank_disk("sdd", 300, true), blank_disk("sde", 250, true)};
  Selection s = select_disks(in, default_config());
  EXPECT_EQ(paths(s.chosen), (std::vector<std::string>{"/dev/sda", "/dev/sdd"}));
  EXPECT_EQ(s.unused.size(), 3u);
  std::vector<DiskFacts> two = {blank_disk("sda", 50, true), blank_disk("sdb", 60)};
  EXPECT_EQ(select_disks(two, default_config()).chosen.size(), 2u);
}

TEST(SysvolSelect, VirtualDevicesOnlyWhenNamedExplicitly) {
  Device loop;
  loop.path = "/dev/loop7";
  loop.kind = "loop";
  EXPECT_FALSE(eligible_kind(loop, Policy{}));
  EXPECT_TRUE(eligible_kind(loop, Policy::from_globs("/dev/loop7,/dev/loop7p*")));
  EXPECT_FALSE(eligible_kind(loop, Policy::from_globs("/dev/vd*")));
  Device zram = loop;
  zram.path = "/dev/zram0";
  zram.kind = "zram";
  EXPECT_FALSE(eligible_kind(zram, Policy{}));
  Device part = loop;
  part.path = "/dev/loop7p1";
  part.kind = "partition";
  EXPECT_FALSE(eligible_kind(part, Policy::from_globs("/dev/loop7,/dev/loop7p*")));
  Device vd;
  vd.path = "/dev/vda";
  vd.kind = "disk";
  EXPECT_TRUE(eligible_kind(vd, Policy{}));
  EXPECT_FALSE(eligible_kind(vd, Policy::from_globs("/dev/vdb")));
}

}  // namespace
}  // namespace mos::engine::sysvol
