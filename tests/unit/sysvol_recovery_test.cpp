// mos_sysvol's recovery rules without disks: [recovery] superblocks and [storage] data_fsid in the
// file and mosrecovery= on the command line, when a damaged primary may be rewritten, how disks
// are grouped into installations (two are refused unless data_fsid names one), the exit status.
#include <gtest/gtest.h>

#include "engine/sysvol/config.hpp"
#include "engine/sysvol/installations.hpp"
#include "engine/sysvol/recovery.hpp"

namespace mos::engine::sysvol {
namespace {

const std::string kFsidA = "11111111-2222-3333-4444-555555555555";
const std::string kFsidB = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

TEST(SysvolRecoveryConfig, ReportByDefaultRepairFromFileOrCmdline) {
  EXPECT_EQ(default_config().superblocks, "report");
  Config c = config_from_toml("[recovery]\nsuperblocks = \"repair\"\n[storage]\ndata_fsid = \"" + kFsidB + "\"\n", "t.toml");
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.superblocks, "repair");
  EXPECT_EQ(c.data_fsid, kFsidB);
  apply_cmdline(c, "ro mosrecovery=report quiet");
  EXPECT_EQ(c.superblocks, "report");
  apply_cmdline(c, "mosrecovery=fix");
  EXPECT_EQ(c.superblocks, "report");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("mosrecovery=fix ignored"), std::string::npos);
}

TEST(SysvolRecoveryConfig, BadValuesNameTheKey) {
  Config a = config_from_toml("[recovery]\nsuperblocks = \"always\"\n", "t.toml");
  ASSERT_EQ(a.warnings.size(), 1u);
  EXPECT_NE(a.warnings[0].find("recovery.superblocks"), std::string::npos) << a.warnings[0];
  EXPECT_EQ(a.superblocks, "report");
  Config b = config_from_toml("[storage]\ndata_fsid = \"not-a-uuid\"\n", "t.toml");
  ASSERT_EQ(b.warnings.size(), 1u);
  EXPECT_NE(b.warnings[0].find("storage.data_fsid"), std::string::npos) << b.warnings[0];
  EXPECT_FALSE(b.data_fsid);
  Config upper = config_from_toml("[storage]\ndata_fsid = \"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE\"\n", "t.toml");
  EXPECT_EQ(upper.data_fsid, kFsidB) << "compared as blkid prints it";
}

TEST(SysvolRecoveryDecision, OnlyBtrfsWithAValidCopyAndOnlyWhenAsked) {
  Config repair = default_config(), report = default_config();
  repair.superblocks = "repair";
  ContentVerdict copy{ContentState::damaged, "btrfs", "MOSDATA", "primary superblock unreadable; copy at 67108864 is valid",
                      "mos-volmgr repair-superblock /dev/vda5"};
  EXPECT_TRUE(may_repair_superblock(repair, "btrfs", copy));
  EXPECT_FALSE(may_repair_superblock(report, "btrfs", copy));
  ContentVerdict no_copy = copy;
  no_copy.repair.clear();
  EXPECT_FALSE(may_repair_superblock(repair, "btrfs", no_copy)) << "no checksummed copy: nothing proves the repair";
  ContentVerdict ext4 = copy;
  ext4.fstype = "ext4";
  EXPECT_FALSE(may_repair_superblock(repair, "ext4", ext4)) << "ext4 and FAT are reported only";
  ContentVerdict foreign = copy;
  foreign.fstype = "ext4";
  EXPECT_FALSE(may_repair_superblock(repair, "btrfs", foreign)) << "another filesystem where MOSDATA belongs";

  MosDisk m;
  m.primary_ok = false, m.backup_ok = true;
  EXPECT_TRUE(may_repair_table(repair, m));
  EXPECT_FALSE(may_repair_table(report, m));
  m.backup_ok = false;
  EXPECT_FALSE(may_repair_table(repair, m)) << "no valid copy";
}

Device dev(const std::string& path, const std::string& parent, const std::string& fstype, const std::string& uuid) {
  Device d;
  d.path = path;
  d.kind = "partition";
  d.parent = parent;
  d.fstype = fstype;
  d.uuid = uuid;
  return d;
}

MosDisk mos_disk(const std::string& path) {
  MosDisk m;
  m.disk.path = path;
  m.disk.kind = "disk";
  return m;
}

TEST(SysvolInstallations, ADualNodeIsOneAndTwoNodesAreRefused) {
  Found dual;
  dual.data = {dev("/dev/vda5", "/dev/vda", "btrfs", kFsidA), dev("/dev/vdb5", "/dev/vdb", "btrfs", kFsidA)};
  dual.md_members = {dev("/dev/vda2", "/dev/vda", "linux_raid_member", "u-efi"),
                     dev("/dev/vdb2", "/dev/vdb", "linux_raid_member", "u-efi")};
  auto one = group_installations({mos_disk("/dev/vda"), mos_disk("/dev/vdb")}, dual);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].disks, (std::set<std::string>{"/dev/vda", "/dev/vdb"}));

  // One data partition damaged (not found): its md members still tie the disk to the node.
  Found damaged = dual;
  damaged.data.pop_back();
  EXPECT_EQ(group_installations({mos_disk("/dev/vda"), mos_disk("/dev/vdb")}, damaged).size(), 1u);

  Found two;
  two.data = {dev("/dev/vda5", "/dev/vda", "btrfs", kFsidA), dev("/dev/vdb5", "/dev/vdb", "btrfs", kFsidB)};
  auto both = group_installations({mos_disk("/dev/vda"), mos_disk("/dev/vdb")}, two);
  ASSERT_EQ(both.size(), 2u);
  Report report;
  LogFn quiet = [](int, const std::string&) {};
  Reporter rep(report, quiet);
  EXPECT_FALSE(pick_installation(both, default_config(), rep));
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("data_fsid"), std::string::npos) << report.errors[0];
  Config named = default_config();
  named.data_fsid = kFsidB;
  auto picked = pick_installation(both, named, rep);
  ASSERT_TRUE(picked);
  EXPECT_EQ(picked->disks, std::set<std::string>{"/dev/vdb"});
  named.data_fsid = "99999999-2222-3333-4444-555555555555";
  EXPECT_FALSE(pick_installation(both, named, rep)) << "a named fsid that is not there";
}

TEST(SysvolInstallations, RestrictKeepsTheInstallationsDevicesAndItsArrays) {
  Found f;
  f.data = {dev("/dev/vda5", "/dev/vda", "btrfs", kFsidA), dev("/dev/vdb5", "/dev/vdb", "btrfs", kFsidB)};
  Device md;
  md.path = "/dev/md_mosboot";
  md.kind = "md";
  f.boot = {md, dev("/dev/vdb3", "/dev/vdb", "ext4", "x")};
  Found r = restrict_found(f, {"/dev/vda"}, {});
  ASSERT_EQ(r.data.size(), 1u);
  EXPECT_EQ(r.data[0].path, "/dev/vda5");
  ASSERT_EQ(r.boot.size(), 1u);
  EXPECT_EQ(r.boot[0].path, "/dev/md_mosboot");
  EXPECT_TRUE(restrict_found(f, {"/dev/vda"}, {"/dev/vda5"}).data.empty());
}

TEST(SysvolRecord, PendingOnEveryFilesystemPartitionInTheTypeSpecificRange) {
  EXPECT_EQ(kStepPendingBit, 1ull << 48);
  EXPECT_EQ(kRecordBits & 0xFFFF'FFFF'FFFFull, 0u) << "only bits 48-63 are type-specific";
  EXPECT_EQ(initial_record_bits(layout_partition(1), false), 0u) << "mosbios gets no filesystem";
  for (uint32_t n = 2; n <= 5; ++n) {
    EXPECT_EQ(initial_record_bits(layout_partition(n), false), kStepPendingBit) << n;
    EXPECT_EQ(initial_record_bits(layout_partition(n), true), kStepPendingBit | kTwoDiskBit) << n;
  }
  EXPECT_EQ(step_name(layout_partition(2)), "efi");
  EXPECT_EQ(step_name(layout_partition(5)), "data");
}

TEST(SysvolExitStatus, WholeNotWholeNotReady) {
  Report r;
  r.ready = true;
  EXPECT_EQ(exit_status(r), 0);
  r.not_in_service = {"GPT primary header and entries of /dev/vda"};
  EXPECT_EQ(exit_status(r), 2);
  r.ready = false;
  EXPECT_EQ(exit_status(r), 1);
  Report dry;
  dry.dry_run = true;
  EXPECT_EQ(exit_status(dry), 0);
}

}  // namespace
}  // namespace mos::engine::sysvol
