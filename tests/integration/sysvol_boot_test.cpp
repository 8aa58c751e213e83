// mos_sysvol first and second boot on one loop disk (512- and 4096-byte sectors), judged by
// sgdisk, fsck.fat, e2fsck, btrfs check, blkid, swapon and the kernel's mounts; and a crash at
// every named crash point followed by a good boot.
#include <gtest/gtest.h>

#include "tests/integration/sysvol_support.hpp"

namespace mos::test {
namespace {

constexpr uint64_t GiB = 1ull << 30;
const char* kSubvols[] = {"system", "etc", "modules", "vm-meta", "mos-bin"};

std::string part(const LoopImage& img, int n) { return img.dev() + "p" + std::to_string(n); }

// Every oracle on the five partitions of a provisioned disk (nothing mounted, swap off).
void expect_mos_layout_valid(const LoopImage& img, uint32_t sector) {
  auto v = sgdisk_verify(img.dev());
  EXPECT_TRUE(v.clean) << v.output;
  auto t = sfdisk_json(img.dev());
  ASSERT_EQ(t["partitions"].size(), 5u) << t.dump();
  const char* names[] = {"mosbios", "mosefi", "mosboot", "mosswap", "mosdata"};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t["partitions"][i]["name"], names[i]);
  EXPECT_EQ(t["partitions"][1]["size"].get<uint64_t>() * sector, (sector == 4096 ? 260 : 100) << 20);

  auto fat = run_tool({"fsck.fat", "-n", part(img, 2)});
  EXPECT_TRUE(fat.ok()) << fat.out << fat.err;
  auto ext = run_tool({"e2fsck", "-fn", part(img, 3)});
  EXPECT_TRUE(ext.ok()) << ext.out << ext.err;
  auto swap = blkid_probe(part(img, 4));
  EXPECT_EQ(swap["TYPE"], "swap");
  EXPECT_EQ(swap["LABEL"], "MOSSWAP");
  EXPECT_EQ(blkid_probe(part(img, 2))["LABEL"], "MOSEFI");
  EXPECT_EQ(blkid_probe(part(img, 3))["LABEL"], "MOSBOOT");
  EXPECT_EQ(blkid_probe(part(img, 5))["LABEL"], "MOSDATA");
  ToolResult bc;
  for (int i = 0; i < 20; ++i) {  // the namespace's mounts go away asynchronously
    bc = run_btrfs_check({"btrfs", "check", "--readonly", part(img, 5)});
    if (bc.ok() || bc.err.find("mounted") == std::string::npos) break;
    usleep(100 * 1000);
  }
  EXPECT_TRUE(bc.ok()) << bc.out << bc.err;
}

void expect_mounted(const SysvolEnv& env, const SysvolRun& r) {
  for (const char* s : kSubvols)
    EXPECT_TRUE(mounted_in(r.mountinfo, env.root() + "/var/cache/" + s, "btrfs")) << s << "\n" << r.mountinfo;
  EXPECT_TRUE(mounted_in(r.mountinfo, env.root() + "/boot", "ext4")) << r.mountinfo;
}

class SysvolBoot : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SysvolBoot, FirstBootThenSecondBootChangesNoTable) {
  MOS_REQUIRE_ROOT();
  const uint32_t ss = GetParam();
  LoopImage img(8 * GiB, ss);
  SwapGuard swap(part(img, 4));
  SysvolEnv env("[[dirs]]\npath = \"/var/cache/system/work\"\n");
  const std::string allow = allow_list({&img});

  auto first = env.run(allow);
  ASSERT_EQ(first.exit_code, 0) << first.log;
  EXPECT_EQ(first.report["mode"], "fresh");
  EXPECT_EQ(first.report["ready"], true);
  EXPECT_EQ(first.report["degraded"], false);
  expect_mounted(env, first);
  EXPECT_TRUE(std::filesystem::is_directory(env.root() + "/var/cache/system/work") ||
              first.log.find("directory " + env.root() + "/var/cache/system/work") != std::string::npos)
      << first.log;
  EXPECT_TRUE(swap_active(part(img, 4))) << "swapon by mos_sysvol";
  ASSERT_EQ(::swapoff(part(img, 4).c_str()), 0) << "swapoff of the area mos_sysvol activated";
  expect_mos_layout_valid(img, ss);

  // Second boot: existing storage; the partition tables (first and last MiB) stay byte-identical.
  auto head = run_sh("dd if=" + img.dev() + " bs=1M count=1 status=none | sha256sum").out;
  auto tail = run_sh("dd if=" + img.dev() + " bs=1M skip=" + std::to_string(img.size() / (1 << 20) - 1) +
                     " status=none | sha256sum").out;
  auto second = env.run(allow);
  ASSERT_EQ(second.exit_code, 0) << second.log;
  EXPECT_EQ(second.report["mode"], "existing");
  EXPECT_EQ(second.report["ready"], true);
  // The MOS disk's health is reported, and a loop disk's unknown verdict does not fail the boot.
  EXPECT_NE(second.log.find("disk health of " + img.dev() + ": unknown; loop devices carry no SMART data"),
            std::string::npos) << second.log;
  for (const auto& d : second.report["done"]) {
    std::string s = d.get<std::string>();
    EXPECT_EQ(s.find("wrote GPT"), std::string::npos) << s;
    EXPECT_EQ(s.find("created"), std::string::npos) << s;
  }
  expect_mounted(env, second);
  EXPECT_TRUE(swap_active(part(img, 4)));
  ASSERT_EQ(::swapoff(part(img, 4).c_str()), 0);
  EXPECT_EQ(run_sh("dd if=" + img.dev() + " bs=1M count=1 status=none | sha256sum").out, head);
  EXPECT_EQ(run_sh("dd if=" + img.dev() + " bs=1M skip=" + std::to_string(img.size() / (1 << 20) - 1) +
                   " status=none | sha256sum").out,
            tail);
  expect_mos_layout_valid(img, ss);
}

INSTANTIATE_TEST_SUITE_P(Sectors, SysvolBoot, ::testing::Values(512u, 4096u));

TEST(SysvolBoot, CmdlineSizesWinOverTheFile) {
  MOS_REQUIRE_ROOT();
  LoopImage img(16 * GiB);
  SwapGuard swap(part(img, 4));
  SysvolEnv env("[storage]\nswap_size_gb = 1\ndata_size_gb = 3\n", "ro mosswap=2 mossize=5");
  auto r = env.run(allow_list({&img}));
  ASSERT_EQ(r.exit_code, 0) << r.log;
  auto t = sfdisk_json(img.dev());
  ASSERT_EQ(t["partitions"].size(), 5u);
  EXPECT_EQ(t["partitions"][3]["size"].get<uint64_t>() * 512, 2 * GiB);
  EXPECT_EQ(t["partitions"][4]["size"].get<uint64_t>() * 512, 5 * GiB);
}

// Our partition names and types without a provisioning record are a complete node: a mosdata
// partition holding someone else's filesystem is reported as damage, never formatted, and the
// rest of the node comes up (/boot mounted, swap on); storage is not ready without MOSDATA.
TEST(SysvolBoot, OurTableWithForeignDataIsNotOurs) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SwapGuard swap(part(img, 4));
  SysvolEnv env;
  const std::string allow = allow_list({&img});
  auto first = env.run(allow);
  ASSERT_EQ(first.exit_code, 0) << first.log;
  ASSERT_EQ(::swapoff(part(img, 4).c_str()), 0);
  for (int p : {3, 5}) wait_idle(part(img, p));
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", "-L",
                        "theirs", part(img, 5)}).ok());
  const auto regions = gpt_regions(img.dev(), img.size(), 512);
  const auto before = region_digests(img.file(), regions);
  auto second = env.run(allow);
  ::swapoff(part(img, 4).c_str());
  wait_idle(part(img, 3));
  EXPECT_EQ(second.exit_code, 1) << second.log;
  EXPECT_EQ(second.report["ready"], false);
  EXPECT_EQ(second.report["mode"], "existing") << second.report.dump(2);
  EXPECT_TRUE(second.report.at("plan").empty()) << second.report.dump(2);
  ASSERT_EQ(second.report.at("damage").size(), 1u) << second.report.dump(2);
  EXPECT_EQ(second.report["damage"][0]["device"], part(img, 5));
  EXPECT_NE(second.report["damage"][0]["reason"].get<std::string>().find("ext4"), std::string::npos);
  EXPECT_TRUE(mounted_in(second.mountinfo, env.root() + "/boot", "ext4")) << "what can be used is mounted";
  const auto after = region_digests(img.file(), regions);
  for (const char* untouched : {"gpt-head", "gpt-tail", "p1", "p2", "p4", "p5"})
    EXPECT_EQ(after.at(untouched), before.at(untouched)) << untouched << " was written";
  EXPECT_EQ(blkid_probe(part(img, 5))["LABEL"], "theirs");
}

// Power fails at each step of a first boot (abort in the child), the record writes included; the
// next run finishes only what the provisioning record says is unfinished and ends in the same,
// valid layout with the record cleared. Every filesystem the crash left complete (its record
// cleared or not) keeps its UUID: done steps are never formatted again, and a format whose
// record's clear was lost only has its record cleared.
class SysvolCrash : public ::testing::TestWithParam<const char*> {};

// partition number -> UUID of each partition holding the filesystem and label the layout puts there
std::map<int, std::string> complete_filesystems(const LoopImage& img) {
  const char* want[][2] = {{"vfat", "MOSEFI"}, {"ext4", "MOSBOOT"}, {"swap", "MOSSWAP"}, {"btrfs", "MOSDATA"}};
  std::map<int, std::string> out;
  if (!std::filesystem::exists(part(img, 5))) return out;
  for (int p = 2; p <= 5; ++p) {
    auto b = blkid_probe(part(img, p));
    if (b["TYPE"] == want[p - 2][0] && b["LABEL"] == want[p - 2][1]) out[p] = b["UUID"];
  }
  return out;
}

TEST_P(SysvolCrash, NextBootFinishesTheJob) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SwapGuard swap(part(img, 4));
  SysvolEnv env;
  const std::string allow = allow_list({&img});
  auto crashed = env.run(allow, {}, {"MOS_VOLMGR_CRASH_POINT=" + std::string(GetParam()), "MOS_VOLMGR_CRASH_ABORT=1"});
  EXPECT_NE(crashed.exit_code, 0) << crashed.log;
  EXPECT_TRUE(crashed.report.is_null()) << "the crash must happen before the report: " << crashed.report.dump();
  ::swapoff(part(img, 4).c_str());
  for (int p : {3, 5})
    if (std::filesystem::exists(part(img, p))) wait_idle(part(img, p));
  const auto kept = complete_filesystems(img);
  auto good = env.run(allow);
  ASSERT_EQ(good.exit_code, 0) << good.log;
  EXPECT_EQ(good.report["ready"], true);
  expect_mounted(env, good);
  ::swapoff(part(img, 4).c_str());
  for (int p : {3, 5}) wait_idle(part(img, p));
  expect_mos_layout_valid(img, 512);
  const auto now = complete_filesystems(img);
  for (const auto& [p, uuid] : kept) EXPECT_EQ(now.at(p), uuid) << "partition " << p << " was formatted again\n" << good.log;
  const auto table = sfdisk_json(img.dev());  // kept alive: a range-for over a temporary's member dangles
  for (const auto& e : table.at("partitions"))
    EXPECT_FALSE(e.contains("attrs")) << "provisioning record left: " << e.dump();
}

// The record covers only what its own first boot writes: another filesystem found under a
// pending step (here: someone's ext4 on mosdata after a first boot stopped behind its GPT) stops
// the resume before its first write.
TEST(SysvolResume, ForeignFilesystemUnderAPendingRecordStopsEveryWrite) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SwapGuard swap(part(img, 4));
  SysvolEnv env;
  const std::string allow = allow_list({&img});
  auto crashed = env.run(allow, {}, {"MOS_VOLMGR_CRASH_POINT=sysvol:after-gpt", "MOS_VOLMGR_CRASH_ABORT=1"});
  ASSERT_NE(crashed.exit_code, 0);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", "-L",
                        "theirs", part(img, 5)}).ok());
  const auto regions = gpt_regions(img.dev(), img.size(), 512);
  const auto before = region_digests(img.file(), regions);
  auto r = env.run(allow);
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_EQ(r.report["mode"], "resume") << r.report.dump(2);
  EXPECT_NE(r.report.at("errors").dump().find(part(img, 5)), std::string::npos) << r.report.dump(2);
  EXPECT_EQ(region_digests(img.file(), regions), before) << "a resume wrote before it knew the record holds";
  EXPECT_EQ(blkid_probe(part(img, 5))["LABEL"], "theirs");
}

INSTANTIATE_TEST_SUITE_P(Points, SysvolCrash,
                         ::testing::Values("gpt:after-backup", "gpt:after-primary", "sysvol:after-gpt", "sysvol:after-efi-fs",
                                           "record:after-backup", "record:after-primary", "sysvol:after-efi-record",
                                           "sysvol:after-boot-fs", "sysvol:after-boot-record", "sysvol:after-swap-fs",
                                           "sysvol:after-swap-record", "sysvol:after-data-fs", "sysvol:after-data-record",
                                           "sysvol:after-subvolumes", "sysvol:after-mounts", "sysvol:after-swapon"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

}  // namespace
}  // namespace mos::test
