// The topology judge over synthetic disk lists, and the kernel filesystem check over a fake
// /proc/filesystems and modules directory.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "engine/sysvol/topologies.hpp"
#include "tests/support/harness.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t GiB = 1ull << 30;

const TopologyAnswer& named(const std::vector<TopologyAnswer>& all, const std::string& name) {
  for (const auto& t : all)
    if (t.name == name) return t;
  throw std::runtime_error("no topology " + name);
}

bool mentions(const TopologyAnswer& t, const std::string& text) {
  for (const auto& r : t.reasons)
    if (r.find(text) != std::string::npos) return true;
  return false;
}

TEST(Topologies, SixTemplatesInTheSeedsOrder) {
  auto all = judge_topologies({}, {}, {true, true});
  std::vector<std::string> names;
  for (const auto& t : all) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"BtrfsSingle", "BcachefsSingle", "DualIndependent", "SsdHddBcachefs",
                                             "Bcachefs2Copy", "BtrfsRaid1"}));
  for (const auto& t : all) {
    EXPECT_FALSE(t.feasible) << t.name;
    EXPECT_TRUE(t.disks.empty()) << t.name;
    EXPECT_FALSE(t.reasons.empty()) << t.name;
  }
  EXPECT_TRUE(mentions(named(all, "BtrfsRaid1"), "needs 2 free disks, found 0"));
}

TEST(Topologies, NoDisksAndNoBcachefsGivesEveryReason) {
  auto all = judge_topologies({}, {}, {true, false});
  const auto& b2 = named(all, "Bcachefs2Copy");
  EXPECT_TRUE(mentions(b2, "kernel has no bcachefs"));
  EXPECT_TRUE(mentions(b2, "needs 2 free disks, found 0"));
}

TEST(Topologies, OneDiskAllowsTheSingleDiskTemplates) {
  std::vector<CandidateDisk> one{{"/dev/sdb", 100 * GiB, "ssd"}};
  auto all = judge_topologies(one, {}, {true, false});
  EXPECT_TRUE(named(all, "BtrfsSingle").feasible);
  EXPECT_EQ(named(all, "BtrfsSingle").disks, std::vector<std::string>{"/dev/sdb"});
  EXPECT_EQ(named(all, "BtrfsSingle").usable_bytes, 100 * GiB);
  EXPECT_FALSE(named(all, "BcachefsSingle").feasible);
  EXPECT_TRUE(mentions(named(all, "BcachefsSingle"), "kernel has no bcachefs"));
  EXPECT_FALSE(named(all, "BtrfsRaid1").feasible);
  EXPECT_TRUE(mentions(named(all, "BtrfsRaid1"), "found 1"));
  EXPECT_TRUE(mentions(named(all, "SsdHddBcachefs"), "needs a free HDD"));
  EXPECT_FALSE(mentions(named(all, "SsdHddBcachefs"), "needs a free SSD"));
}

TEST(Topologies, TwoDisksMirrorAndSplit) {
  std::vector<CandidateDisk> two{{"/dev/sdb", 200 * GiB, "hdd"}, {"/dev/sdc", 120 * GiB, "hdd"}};
  auto all = judge_topologies(two, {"/dev/sdb", "/dev/sdc"}, {true, true});
  const auto& raid1 = named(all, "BtrfsRaid1");
  EXPECT_TRUE(raid1.feasible);
  EXPECT_EQ(raid1.disks, (std::vector<std::string>{"/dev/sdb", "/dev/sdc"}));
  EXPECT_EQ(raid1.usable_bytes, 120 * GiB);
  EXPECT_TRUE(mentions(raid1, "smaller disk bounds"));
  EXPECT_EQ(named(all, "DualIndependent").usable_bytes, 320 * GiB);
  EXPECT_TRUE(named(all, "Bcachefs2Copy").feasible);
  EXPECT_FALSE(named(all, "SsdHddBcachefs").feasible);  // both rotational
  EXPECT_TRUE(mentions(named(all, "SsdHddBcachefs"), "needs a free SSD or NVMe"));
}

TEST(Topologies, SsdHddPairsTheLargestOfEachClass) {
  std::vector<CandidateDisk> c{{"/dev/sdd", 4000 * GiB, "hdd"}, {"/dev/sde", 2000 * GiB, "hdd"},
                               {"/dev/nvme0n1", 500 * GiB, "nvme"}, {"/dev/sdb", 250 * GiB, "ssd"}};
  auto all = judge_topologies(c, {"/dev/sdd", "/dev/sde"}, {true, true});
  const auto& t = named(all, "SsdHddBcachefs");
  EXPECT_TRUE(t.feasible);
  EXPECT_EQ(t.disks, (std::vector<std::string>{"/dev/nvme0n1", "/dev/sdd"}));
  EXPECT_EQ(t.usable_bytes, 4000 * GiB);
  auto no_kernel = judge_topologies(c, {"/dev/sdd", "/dev/sde"}, {true, false});
  EXPECT_FALSE(named(no_kernel, "SsdHddBcachefs").feasible);
  EXPECT_EQ(named(no_kernel, "SsdHddBcachefs").reasons, std::vector<std::string>{"kernel has no bcachefs"});
}

TEST(Topologies, MediaClass) {
  Device d;
  d.name = "nvme0n1";
  EXPECT_EQ(media_class(d), "nvme");
  d.name = "sda";
  d.rotational = true;
  EXPECT_EQ(media_class(d), "hdd");
  d.rotational = false;
  EXPECT_EQ(media_class(d), "ssd");
}

TEST(Topologies, KernelFilesystemsFromProcOrModules) {
  test::TempDir dir;
  std::string proc = dir.path() + "/filesystems";
  std::ofstream(proc) << "nodev\tsysfs\nnodev\ttmpfs\n\text4\n\tbtrfs\n";
  std::string mods = dir.path() + "/modules";
  ASSERT_EQ(::mkdir(mods.c_str(), 0755), 0);
  std::ofstream(mods + "/modules.dep") << "kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz\n"
                                          "kernel/fs/jbd2/jbd2.ko.xz:\n";
  KernelFilesystems k = kernel_filesystems({proc, mods});
  EXPECT_TRUE(k.btrfs);
  EXPECT_FALSE(k.bcachefs);
  std::ofstream(mods + "/modules.dep", std::ios::app) << "kernel/fs/bcachefs/bcachefs.ko.xz:\n";
  EXPECT_TRUE(kernel_filesystems({proc, mods}).bcachefs);
  std::ofstream(proc) << "\tbcachefs\n";
  KernelFilesystems only_proc = kernel_filesystems({proc, dir.path() + "/no-such-dir"});
  EXPECT_TRUE(only_proc.bcachefs);
  EXPECT_FALSE(only_proc.btrfs);
}

}  // namespace
}  // namespace mos::engine
