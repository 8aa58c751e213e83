// storage.repair_superblock on loop devices with 512- and 4096-byte sectors. Each format is made
// by our writer and by the real tool (mkfs.btrfs, mkfs.ext4, mkfs.vfat, sgdisk), files are
// written through the kernel (mtools for FAT: the host kernel has no vfat), the primary is
// damaged as the case states, a dry run changes nothing, the repair runs, and the oracles judge:
// btrfs check --readonly, e2fsck -fn, fsck.fat -n, sgdisk -v clean; the kernel mounts it (mtools
// read FAT) and the files read back byte-equal; every byte outside what the repair wrote is as
// the damage left it, and outside that and the damage as it was before. Refusals (a mounted
// device, copies that disagree, no valid copy, ext4 descriptors damaged too) change nothing.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <regex>

#include "base/bytes.hpp"
#include "engine/format/format.hpp"
#include "engine/partition/partition.hpp"
#include "engine/repair/repair.hpp"
#include "ioctl/blockdev.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/damage.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/fs_oracles.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;
constexpr uint64_t KiB = 1024, MiB = 1ull << 20, GiB = 1ull << 30;
constexpr uint64_t kBtrfsPrimary = 64 * KiB, kBtrfsMirror1 = 64 * MiB, kBtrfsMirror2 = 256 * GiB;

enum class Damage {
  btrfs_magic,          // 8 bytes of the primary's magic (64 KiB + 0x40)
  first_mib,            // the whole first MiB zeroed (the btrfs primary with it)
  ext_superblock,       // the primary superblock (1024 bytes at 1024) zeroed
  fat_boot_sector,      // logical sector 0 zeroed
  fat_boot_and_fsinfo,  // logical sectors 0 and 1 zeroed (boot sector and FSInfo)
  gpt_primary_header,   // LBA 1 zeroed
};

struct Case {
  const char* name;
  std::string format;  // btrfs | ext4 | vfat | gpt (a GPT disk, ext4 on its partition 1)
  bool ours;           // made by our writer (the engine) or by the real tool
  Damage damage;
  std::vector<std::string> tool_options = {};
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

EngineOutcome repair(const std::string& dev, bool dry_run) {
  return engine_outcome([&] { return json(engine::repair_superblock({dev, dry_run}, loop_only_context())); });
}

// {offset, length} of every range a plan writes or zeroes.
Ranges plan_ranges(const json& plan) {
  Ranges out;
  for (const auto& step : plan.at("steps"))
    for (const char* kind : {"writes", "zeroes"})
      for (const auto& r : step.at(kind)) out.emplace_back(r.at("offset").get<uint64_t>(), r.at("length").get<uint64_t>());
  return out;
}

// The image's bytes as the device has them (its cache written out and dropped), outside `masked`.
std::string digest(const LoopImage& img, const Ranges& masked = {}) {
  EXPECT_TRUE(run_tool({"blockdev", "--flushbufs", img.dev()}).ok());
  return sparse_digest(img.file(), masked);
}

void ok(const ToolResult& r) { ASSERT_TRUE(r.ok()) << r.out << r.err; }

// The case's filesystem (or table and a filesystem on partition 1) on img; fs_dev: where the files go.
void make(const Case& c, const LoopImage& img, std::string& fs_dev) {
  const std::string dev = img.dev();
  fs_dev = dev;
  if (c.format == "gpt") {
    if (c.ours) {
      auto made = engine_outcome([&] {
        engine::create_partition_table(dev, false, false, loop_only_context());
        engine::CreatePartitionRequest req;
        req.disk = dev;
        req.name = "data";
        req.part_type = "linux";
        return json(engine::create_partition(req, loop_only_context()));
      });
      ASSERT_TRUE(made.ok) << made.message;
    } else {
      ok(run_tool({"sgdisk", "-o", "-n", "1:0:0", "-t", "1:8300", "-c", "1:data", dev}));
      run_tool({"partx", "-a", dev});  // the loop device does not scan partitions itself
    }
    fs_dev = dev + "p1";
    ASSERT_TRUE(wait_for_path(fs_dev)) << fs_dev;
    ok(run_tool({"mkfs.ext4", "-q", "-F", "-L", "MOSDATA", fs_dev}));
    return;
  }
  const std::string label = c.format == "vfat" ? "MOSEFI" : c.format == "ext4" ? "MOSBOOT" : "MOSDATA";
  if (c.ours) {
    auto made = engine_outcome([&] {
      engine::FormatRequest req;
      req.device = dev;
      req.fstype = c.format;
      req.label = label;
      return json(engine::create_filesystem(req, loop_only_context()));
    });
    ASSERT_TRUE(made.ok) << made.message;
    return;
  }
  std::vector<std::string> argv;
  if (c.format == "btrfs") argv = {"mkfs.btrfs", "-q", "-f", "-L", label};
  if (c.format == "ext4") argv = {"mkfs.ext4", "-q", "-F", "-L", label};
  if (c.format == "vfat") argv = {"mkfs.vfat", "-F", "32", "-n", label};
  argv.insert(argv.end(), c.tool_options.begin(), c.tool_options.end());
  argv.push_back(dev);
  ok(run_tool(argv));
}

struct File {
  std::string name, sha256;
};

bool on_fat(const Case& c) { return c.format == "vfat"; }
std::string kernel_type(const Case& c) { return c.format == "btrfs" ? "btrfs" : "ext4"; }

// Three files, one in a directory, written through the kernel (mtools for FAT).
std::vector<File> put_files(const Case& c, const std::string& dev, const TempDir& dir) {
  std::vector<File> files = {{"hello.txt", ""}, {"random.bin", ""}, {"sub/random2.bin", ""}};
  run_tool({"mkdir", "-p", dir / "src/sub"});
  run_tool({"sh", "-c", "echo 'written before the damage' > " + dir / "src/hello.txt"});
  write_random(dir / "src/random.bin", 3 * MiB + 123);
  write_random(dir / "src/sub/random2.bin", 200 * KiB + 7);
  for (auto& f : files) f.sha256 = sha256_of(dir / ("src/" + f.name));
  if (on_fat(c)) {
    EXPECT_TRUE(run_tool({"mmd", "-i", dev, "::/sub"}).ok());
    for (const auto& f : files) EXPECT_TRUE(run_tool({"mcopy", "-i", dev, dir / ("src/" + f.name), "::/" + f.name}).ok()) << f.name;
    return files;
  }
  const std::string mnt = dir / "mnt";
  run_tool({"mkdir", "-p", mnt});
  EXPECT_TRUE(run_tool({"mount", "-t", kernel_type(c), dev, mnt}).ok());
  MountGuard guard(mnt);
  EXPECT_TRUE(run_tool({"cp", "-r", dir / "src/.", mnt}).ok());
  EXPECT_TRUE(run_tool({"umount", mnt}).ok());
  guard.release();
  return files;
}

// The files read back byte-equal: the kernel mounts it read-only (mtools read FAT).
void expect_files(const Case& c, const std::string& dev, const std::vector<File>& files, const TempDir& dir) {
  const std::string back = dir / "back";
  run_tool({"mkdir", "-p", back + "/sub"});
  if (on_fat(c)) {
    for (const auto& f : files) {
      EXPECT_TRUE(run_tool({"mcopy", "-n", "-i", dev, "::/" + f.name, back + "/" + f.name}).ok()) << f.name;
      EXPECT_EQ(sha256_of(back + "/" + f.name), f.sha256) << f.name;
    }
    return;
  }
  const std::string mnt = dir / "mnt";
  ToolResult m = run_tool({"mount", "-o", "ro", "-t", kernel_type(c), dev, mnt});
  ASSERT_TRUE(m.ok()) << "the kernel does not mount the repaired " << dev << ": " << m.err;
  MountGuard guard(mnt);
  for (const auto& f : files) EXPECT_EQ(sha256_of(mnt + "/" + f.name), f.sha256) << f.name;
}

// Makes the case's damage; the ranges it changed.
Ranges damage(const Case& c, const LoopImage& img) {
  const std::string& dev = img.dev();
  const uint64_t ss = io::block_facts(io::Fd::open(dev, O_RDONLY)).logical_sector_size;
  switch (c.damage) {
    case Damage::btrfs_magic: overwrite(dev, kBtrfsPrimary + 0x40, "DAMAGED!"); return {{kBtrfsPrimary + 0x40, 8}};
    case Damage::first_mib: zero_range(dev, 0, MiB); return {{0, MiB}};
    case Damage::ext_superblock: zero_range(dev, 1024, 1024); return {{1024, 1024}};
    case Damage::fat_boot_sector: zero_range(dev, 0, ss); return {{0, ss}};
    case Damage::fat_boot_and_fsinfo: zero_range(dev, 0, 2 * ss); return {{0, 2 * ss}};
    case Damage::gpt_primary_header: zero_range(dev, ss, ss); return {{ss, ss}};
  }
  return {};
}

void expect_checkers_clean(const Case& c, const std::string& disk, const std::string& fs_dev) {
  if (c.format == "btrfs") {
    ToolResult r = run_btrfs_check({"btrfs", "check", "--readonly", fs_dev});
    EXPECT_TRUE(r.ok()) << r.out << r.err;
  } else if (c.format == "vfat") {
    expect_fsck_fat_clean(fs_dev);
  } else {
    expect_e2fsck_clean(fs_dev);
  }
  if (c.format == "gpt") {
    SgdiskVerdict v = sgdisk_verify(disk);
    EXPECT_TRUE(v.clean) << v.output;
  }
}

class RepairSuperblock : public ::testing::TestWithParam<std::tuple<Case, uint32_t>> {};

TEST_P(RepairSuperblock, RewritesThePrimaryFromItsCopyAndNothingElse) {
  MOS_REQUIRE_ROOT();
  const auto& [c, ss] = GetParam();
  TempDir dir;
  LoopImage img(c.format == "vfat" ? GiB : 300 * MiB, ss);
  std::string fs_dev;
  make(c, img, fs_dev);
  if (HasFatalFailure()) return;
  const std::vector<File> files = put_files(c, fs_dev, dir);
  const std::string before = digest(img);
  ok(run_tool({"cp", "--sparse=always", img.file(), dir / "before.img"}));

  const Ranges damaged = damage(c, img);
  const std::string after_damage = digest(img);
  ASSERT_NE(after_damage, before);

  auto dry = repair(img.dev(), true);
  ASSERT_TRUE(dry.ok) << dry.message;
  EXPECT_TRUE(dry.result.at("dry_run").get<bool>());
  EXPECT_FALSE(dry.result.at("repaired").get<bool>());
  EXPECT_TRUE(dry.result.at("damage").is_string()) << dry.result.dump(2);
  EXPECT_TRUE(dry.result.at("source").is_string()) << dry.result.dump(2);
  const Ranges written = plan_ranges(dry.result.at("plan"));
  ASSERT_FALSE(written.empty()) << dry.result.dump(2);
  EXPECT_EQ(digest(img), after_damage) << "the dry run wrote";
  const std::string outside_written = digest(img, written);

  auto done = repair(img.dev(), false);
  ASSERT_TRUE(done.ok) << done.message;
  EXPECT_TRUE(done.result.at("repaired").get<bool>());
  EXPECT_EQ(plan_ranges(done.result.at("plan")), written) << "the repair is not what its dry run showed";
  EXPECT_TRUE(done.result.at("device").at("damaged").is_null()) << done.result.dump(2);
  EXPECT_EQ(digest(img, written), outside_written) << "the repair wrote outside its plan";
  Ranges both = written;
  both.insert(both.end(), damaged.begin(), damaged.end());
  EXPECT_EQ(digest(img, both), sparse_digest(dir / "before.img", both)) << "bytes outside the damage and the repair changed";

  expect_checkers_clean(c, img.dev(), fs_dev);
  EXPECT_EQ(blkid_probe(fs_dev)["TYPE"], c.format == "gpt" ? "ext4" : c.format);
  expect_files(c, fs_dev, files, dir);

  // Healthy now: a second repair has nothing to do.
  auto again = repair(img.dev(), false);
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_FALSE(again.result.at("repaired").get<bool>());
  EXPECT_TRUE(again.result.at("source").is_null());
  EXPECT_TRUE(again.result.at("plan").at("steps").empty());
}

const Case kCases[] = {
    {"BtrfsOursMagic", "btrfs", true, Damage::btrfs_magic},
    {"BtrfsToolMagic", "btrfs", false, Damage::btrfs_magic},
    {"BtrfsOursFirstMiB", "btrfs", true, Damage::first_mib},
    {"BtrfsToolFirstMiB", "btrfs", false, Damage::first_mib},
    {"Ext4OursSuperblock", "ext4", true, Damage::ext_superblock},
    {"Ext4ToolSuperblock", "ext4", false, Damage::ext_superblock},
    {"Ext4ToolUninitBgSuperblock", "ext4", false, Damage::ext_superblock, {"-O", "^metadata_csum,uninit_bg"}},
    {"VfatOursBootSector", "vfat", true, Damage::fat_boot_sector},
    {"VfatToolBootSector", "vfat", false, Damage::fat_boot_sector},
    {"VfatToolBootSectorAndFsinfo", "vfat", false, Damage::fat_boot_and_fsinfo},
    {"GptOursPrimaryHeader", "gpt", true, Damage::gpt_primary_header},
    {"GptToolPrimaryHeader", "gpt", false, Damage::gpt_primary_header},
};

INSTANTIATE_TEST_SUITE_P(Formats, RepairSuperblock, ::testing::Combine(::testing::ValuesIn(kCases), ::testing::Values(512u, 4096u)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::to_string(std::get<1>(info.param));
                         });

class RepairRefusal : public ::testing::TestWithParam<uint32_t> {};

// A refusal: -32001 with `what` in its message, and not a byte of the image changed.
void expect_refused_untouched(const LoopImage& img, const std::string& what) {
  const std::string before = digest(img);
  for (bool dry_run : {true, false}) {
    auto r = repair(img.dev(), dry_run);
    EXPECT_FALSE(r.ok) << r.result.dump(2);
    EXPECT_EQ(r.code, static_cast<int>(ErrorCode::validation)) << r.message;
    EXPECT_NE(r.message.find(what), std::string::npos) << r.message;
  }
  EXPECT_EQ(digest(img), before) << "a refusal wrote";
}

// The device is mounted (read-only, so the kernel writes nothing either): refused, dry run too.
TEST_P(RepairRefusal, MountedDevice) {
  MOS_REQUIRE_ROOT();
  TempDir dir;
  LoopImage img(300 * MiB, GetParam());
  ok(run_tool({"mkfs.ext4", "-q", "-F", img.dev()}));
  const std::string mnt = dir / "mnt";
  run_tool({"mkdir", "-p", mnt});
  ok(run_tool({"mount", "-o", "ro", img.dev(), mnt}));
  MountGuard guard(mnt);
  expect_refused_untouched(img, "mounted");
}

// Two valid btrfs copies with different fsids (mirror 2 at 256 GiB given another fsid and its
// checksum computed again), the primary's magic damaged: refused, not guessed.
TEST_P(RepairRefusal, BtrfsCopiesThatDisagree) {
  MOS_REQUIRE_ROOT();
  LoopImage img(kBtrfsMirror2 + 64 * MiB, GetParam());
  ok(run_tool({"mkfs.btrfs", "-q", "-f", "-K", img.dev()}));
  overwrite(img.dev(), kBtrfsPrimary + 0x40, "DAMAGED!");
  std::vector<uint8_t> sb = io::Fd::open(img.dev(), O_RDONLY).pread_vec(4096, kBtrfsMirror2);
  ASSERT_EQ(std::string(sb.begin() + 0x40, sb.begin() + 0x48), "_BHRfS_M");
  sb[0x20] ^= 0xFF;  // the fsid
  store_le32(sb.data(), crc32c(sb.data() + 0x20, 4096 - 0x20));
  overwrite(img.dev(), kBtrfsMirror2, std::string(sb.begin(), sb.end()));
  expect_refused_untouched(img, "disagree on the filesystem");
}

// The btrfs primary fails its checksum (a label byte flipped) and so does mirror 1.
TEST_P(RepairRefusal, BtrfsWithoutAValidCopy) {
  MOS_REQUIRE_ROOT();
  LoopImage img(300 * MiB, GetParam());
  ok(run_tool({"mkfs.btrfs", "-q", "-f", "-L", "MOSDATA", img.dev()}));
  flip_byte(img.dev(), kBtrfsPrimary + 0x12b);
  flip_byte(img.dev(), kBtrfsMirror1 + 0x12b);
  expect_refused_untouched(img, "no btrfs superblock mirror");
}

// A FAT32 whose boot sector and backup boot sector (sector 6) are both zeroed.
TEST_P(RepairRefusal, FatWithoutItsBackup) {
  MOS_REQUIRE_ROOT();
  LoopImage img(GiB, GetParam());
  ok(run_tool({"mkfs.vfat", "-F", "32", img.dev()}));
  zero_range(img.dev(), 0, GetParam());
  zero_range(img.dev(), 6 * GetParam(), GetParam());
  expect_refused_untouched(img, "nothing to repair from");
}

// The ext4 primary superblock zeroed and a byte of the primary group descriptors flipped: a
// backup's descriptors are as old as the format, so the repair refuses naming e2fsck -b — and
// that exact command (with -y) does repair it.
TEST_P(RepairRefusal, Ext4DescriptorsDamagedTooNamesE2fsck) {
  MOS_REQUIRE_ROOT();
  LoopImage img(300 * MiB, GetParam());
  ok(run_tool({"mkfs.ext4", "-q", "-F", img.dev()}));
  const uint64_t block = std::stoull(run_tool({"sh", "-c", "dumpe2fs -h " + img.dev() + " 2>/dev/null | sed -n 's/^Block size: *//p'"}).out);
  zero_range(img.dev(), 1024, 1024);
  flip_byte(img.dev(), (block == 1024 ? 2 : 1) * block);  // descriptor 0's block bitmap
  expect_refused_untouched(img, "primary group descriptors are damaged too");
  auto refused = repair(img.dev(), false);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(refused.message, m, std::regex("`e2fsck -b (\\d+) -B (\\d+) ([^`]+)`"))) << refused.message;
  EXPECT_EQ(m[3].str(), img.dev());
  ToolResult fixed = run_tool({"e2fsck", "-y", "-b", m[1], "-B", m[2], img.dev()});
  EXPECT_TRUE(fixed.exit_code == 0 || fixed.exit_code == 1) << fixed.out << fixed.err;
  expect_e2fsck_clean(img.dev());
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, RepairRefusal, ::testing::Values(512u, 4096u));

class RepairCrash : public ::testing::TestWithParam<uint32_t> {};

// A FAT32 whose boot sector and FSInfo are zeroed, the repair stopped at repair:after-fsinfo
// (FSInfo written, the boot sector not yet): the device still reads as damaged FAT32 from its
// backup, and the repair run again completes it, fsck.fat clean.
TEST_P(RepairCrash, StoppedAfterFsinfoIsRepairedByTheNextRun) {
  MOS_REQUIRE_ROOT();
  LoopImage img(GiB, GetParam());
  ok(run_tool({"mkfs.vfat", "-F", "32", "-n", "MOSEFI", img.dev()}));
  zero_range(img.dev(), 0, 2 * GetParam());
  setenv("MOS_VOLMGR_CRASH_POINT", "repair:after-fsinfo", 1);
  auto stopped = repair(img.dev(), false);
  unsetenv("MOS_VOLMGR_CRASH_POINT");
  EXPECT_FALSE(stopped.ok) << "repair:after-fsinfo did not fire";
  EXPECT_NE(stopped.message.find("injected crash"), std::string::npos) << stopped.message;
  auto dry = repair(img.dev(), true);
  ASSERT_TRUE(dry.ok) << dry.message;
  EXPECT_TRUE(dry.result.at("damage").is_string()) << dry.result.dump(2);
  EXPECT_EQ(dry.result.at("format"), "vfat");
  auto done = repair(img.dev(), false);
  ASSERT_TRUE(done.ok) << done.message;
  EXPECT_TRUE(done.result.at("repaired").get<bool>());
  expect_fsck_fat_clean(img.dev());
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, RepairCrash, ::testing::Values(512u, 4096u));

// mos-volmgr repair-superblock through the daemon: --dry-run names the damage, the copy and the
// plan and writes nothing; the repair says what it wrote; a second one has nothing to do.
TEST(RepairSuperblockCli, DryRunThenRepairThenNothingToDo) {
  MOS_REQUIRE_ROOT();
  LoopImage img(300 * MiB);
  ok(run_tool({"mkfs.btrfs", "-q", "-f", "-L", "MOSDATA", img.dev()}));
  overwrite(img.dev(), kBtrfsPrimary + 0x40, "DAMAGED!");
  const std::string damaged = digest(img);
  SandboxedDaemon daemon;
  ASSERT_TRUE(daemon.ready());

  json plan = daemon.cli_json({"repair-superblock", img.dev(), "--dry-run"});
  EXPECT_EQ(plan["format"], "btrfs");
  EXPECT_EQ(plan["source"].get<std::string>().rfind("copy at 67108864 (btrfs mirror 1, generation ", 0), 0u) << plan.dump(2);
  EXPECT_TRUE(plan["dry_run"].get<bool>());
  ToolResult human = daemon.cli({"repair-superblock", img.dev(), "--dry-run"});
  ASSERT_TRUE(human.ok()) << human.err;
  EXPECT_NE(human.out.find("Would repair the btrfs on " + img.dev() + " from its copy at 67108864"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("primary-superblock"), std::string::npos) << human.out;
  EXPECT_EQ(digest(img), damaged) << "a dry run wrote";

  ToolResult done = daemon.cli({"repair-superblock", img.dev()});
  ASSERT_TRUE(done.ok()) << done.err;
  EXPECT_NE(done.out.find("Repaired the btrfs on " + img.dev()), std::string::npos) << done.out;
  EXPECT_TRUE(run_btrfs_check({"btrfs", "check", "--readonly", img.dev()}).ok());
  ToolResult again = daemon.cli({"repair-superblock", img.dev()});
  ASSERT_TRUE(again.ok()) << again.err;
  EXPECT_NE(again.out.find("Nothing to repair"), std::string::npos) << again.out;

  ToolResult refused = daemon.cli({"repair-superblock", "/dev/null"});
  EXPECT_NE(refused.exit_code, 0);
}

}  // namespace
}  // namespace mos::test
