// md RAID1 through the guest kernel's md driver, created and managed by the engine (RPC steps,
// no mdadm in the guest). Two GPT disks, each with an MOSEFI partition (metadata 0.90 -> FAT32,
// kernel vfat) and an MOSBOOT partition (metadata 1.2 -> ext4). Boots on the same images:
// (1) create + mkfs + mount + write/read, (2) reboot: assemble, data intact, stop/assemble again,
// remove a member; both disks again: the removed member is left out and reported, (3) one disk
// gone: degraded assemble, data intact, (4) a blank disk in its place: partitioned like the
// survivor, members added, rebuilt as jobs; (5) all of it again on 4096-byte-sector disks.
// After boots 1 and 4 the host judges the images: mdadm --examine per member, fsck.fat -n and
// mtools on the FAT32 (data at 0 of the 0.90 member), e2fsck -fn + debugfs on the ext4 (at the
// 1.2 data offset), and the members' data regions compared byte for byte; after boot 2 the
// superblocks record the removed member.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/mdadm_examine.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;

struct SeededFile {
  std::string path;
  uint64_t bytes;
  uint64_t seed;
};

struct Layout {
  uint32_t sector = 512;
  uint64_t disk = 320 * MiB;
  uint64_t efi_start = MiB, efi_size = 64 * MiB;     // 0.90, FAT32
  uint64_t boot_start = 65 * MiB, boot_size = 200 * MiB;  // 1.2, ext4
};

// FAT32 on 4Kn needs >= 65525 clusters of 4 KiB (256.6 MiB).
Layout layout_4kn() { return Layout{4096, 600 * MiB, MiB, 290 * MiB, 291 * MiB, 280 * MiB}; }

const std::vector<SeededFile> kEfiFiles = {{"/EFI/BOOT/BOOTX64.EFI", MiB + 123, 1}, {"/hello.txt", 5000, 2}};
const std::vector<SeededFile> kBootFiles = {{"/vmlinuz", 9 * MiB + 1, 11}, {"/small", 100, 12}};
const SeededFile kDegradedFile = {"/written-degraded", 3 * MiB + 3, 13};

json modules() { return {"md-mod", "raid1", "vfat", "nls_cp437", "nls_ascii", "nls_utf8", "ext4"}; }

json expect_error_step(const std::string& method, json params, int code) {
  json s = rpc_step(method, std::move(params));
  s["expect_error"] = code;
  return s;
}

void partition_steps(json& steps, const std::string& disk, const Layout& l) {
  steps.push_back(rpc_step("storage.create_partition_table", {{"disk", disk}}));
  steps.push_back(rpc_step("storage.create_partition", {{"disk", disk}, {"name", "MOSEFI"}, {"part_type", "linux_raid"},
                                                       {"start_bytes", l.efi_start}, {"size_bytes", l.efi_size}}));
  steps.push_back(rpc_step("storage.create_partition", {{"disk", disk}, {"name", "MOSBOOT"}, {"part_type", "linux_raid"},
                                                       {"start_bytes", l.boot_start}, {"size_bytes", l.boot_size}}));
}

json mount_step(const std::string& dev, const std::string& target, const std::string& fstype) {
  return rpc_step("storage.mount", {{"source", dev}, {"target", target}, {"fstype", fstype}});
}

void write_steps(json& steps, const std::string& mnt, const std::vector<SeededFile>& files) {
  for (const auto& f : files) {
    std::string parent = (mnt + f.path).substr(0, (mnt + f.path).rfind('/'));
    if (parent != mnt) steps.push_back({{"op", "mkdir"}, {"path", parent}});
    steps.push_back(write_step(mnt + f.path, f.bytes, f.seed));
  }
}

void read_steps(json& steps, const std::string& mnt, const std::vector<SeededFile>& files) {
  for (const auto& f : files) steps.push_back(read_step(mnt + f.path, f.bytes, f.seed));
}

// Boots once; every step must succeed. Returns the result for further checks.
VmResult boot(const std::string& name, const std::vector<VmDisk>& disks, const json& steps) {
  VmSpec spec;
  spec.name = name;
  spec.disks = disks;
  spec.timeout_s = 600;
  spec.scenario = {{"modules", modules()}, {"steps", steps}};
  VmResult r = run_vm(spec);
  report_wall_time(name, r);
  expect_all_steps_ok(r, steps.size());
  return r;
}

// The result of the first step calling `method`.
json result_of(const VmResult& r, const json& steps, const std::string& method, size_t nth = 0) {
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].value("method", "") == method && nth-- == 0) {
      const json* line = r.step(i);
      return line && line->contains("result") ? (*line)["result"] : json();
    }
  return json();
}

// --- host side: the images judged by the oracles -------------------------------------------

// Copies [offset, offset + length) of an image into a sparse file the tools can read.
std::string extract(const std::string& image, uint64_t offset, uint64_t length, const std::string& out) {
  io::Fd in = io::Fd::open(image, O_RDONLY);
  io::Fd dst = io::Fd::open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
  EXPECT_EQ(::ftruncate(dst.get(), static_cast<off_t>(length)), 0);
  std::vector<uint8_t> buf(MiB);
  for (uint64_t done = 0; done < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
    in.pread_exact(buf.data(), n, offset + done);
    bool zero = std::all_of(buf.begin(), buf.begin() + static_cast<long>(n), [](uint8_t b) { return b == 0; });
    if (!zero) dst.pwrite_exact(buf.data(), n, done);
    done += n;
  }
  return out;
}

std::map<std::string, std::string> examine(const std::string& file) { return test::mdadm_examine(file); }

uint64_t leading_number(const std::string& s) { return s.empty() ? 0 : std::stoull(s); }

struct Member {
  std::map<std::string, std::string> ex;
  uint64_t data_start = 0;  // in the image
  uint64_t data_bytes = 0;  // the array's size
};

Member judge_member(const std::string& image, uint64_t start, uint64_t size, bool v090, const std::string& tmp) {
  Member m;
  m.ex = examine(extract(image, start, size, tmp));
  std::remove(tmp.c_str());
  EXPECT_EQ(m.ex["Raid Level"], "raid1") << image;
  EXPECT_EQ(m.ex["Raid Devices"], "2") << image;
  EXPECT_NE(m.ex["Checksum"].find("correct"), std::string::npos) << image << " " << m.ex["Checksum"];
  EXPECT_EQ(m.ex["Version"], v090 ? "0.90.00" : "1.2") << image;
  m.data_start = start + (v090 ? 0 : leading_number(m.ex["Data Offset"]) * 512);
  m.data_bytes = leading_number(m.ex["Array Size"]) * 1024;  // KiB
  EXPECT_GT(m.data_bytes, 0u) << image;
  return m;
}

bool regions_equal(const std::string& a, uint64_t a_off, const std::string& b, uint64_t b_off, uint64_t length) {
  io::Fd fa = io::Fd::open(a, O_RDONLY), fb = io::Fd::open(b, O_RDONLY);
  std::vector<uint8_t> x(MiB), y(MiB);
  for (uint64_t done = 0; done < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(x.size(), length - done));
    fa.pread_exact(x.data(), n, a_off + done);
    fb.pread_exact(y.data(), n, b_off + done);
    if (std::memcmp(x.data(), y.data(), n) != 0) return false;
    done += n;
  }
  return true;
}

void judge_fat(const std::string& image, const Member& m, const std::vector<SeededFile>& files, const std::string& tmp) {
  extract(image, m.data_start, m.data_bytes, tmp);
  auto fsck = test::run_tool({"fsck.fat", "-n", tmp});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  for (const auto& f : files) {
    auto copy = test::run_tool({"env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-n", "-i", tmp, "::" + f.path, "-"});
    ASSERT_TRUE(copy.ok()) << f.path << ": " << copy.err;
    EXPECT_TRUE(copy.out == seeded_bytes(f.seed, f.bytes)) << f.path << " differs when read by mtools";
  }
  std::remove(tmp.c_str());
}

void judge_ext4(const std::string& image, const Member& m, const std::vector<SeededFile>& files, const std::string& tmp) {
  extract(image, m.data_start, m.data_bytes, tmp);
  auto fsck = test::run_tool({"e2fsck", "-fn", tmp});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  for (const auto& f : files) {
    auto cat = test::run_tool({"debugfs", "-R", "cat " + f.path, tmp});
    ASSERT_TRUE(cat.ok()) << cat.err;
    EXPECT_TRUE(cat.out == seeded_bytes(f.seed, f.bytes)) << f.path << " differs when read by debugfs";
  }
  std::remove(tmp.c_str());
}

// Both members of both arrays on two images: same array UUIDs, same events, data regions equal,
// and the filesystems pass their checkers with the expected files.
void judge_mirrors(const std::string& a, const std::string& b, const Layout& l, const std::vector<SeededFile>& boot_files,
                   const std::string& tmp) {
  Member efi_a = judge_member(a, l.efi_start, l.efi_size, true, tmp);
  Member efi_b = judge_member(b, l.efi_start, l.efi_size, true, tmp);
  Member boot_a = judge_member(a, l.boot_start, l.boot_size, false, tmp);
  Member boot_b = judge_member(b, l.boot_start, l.boot_size, false, tmp);
  EXPECT_EQ(efi_a.ex["UUID"], efi_b.ex["UUID"]);
  EXPECT_EQ(boot_a.ex["Array UUID"], boot_b.ex["Array UUID"]);
  EXPECT_EQ(efi_a.ex["Events"], efi_b.ex["Events"]);
  EXPECT_EQ(boot_a.ex["Events"], boot_b.ex["Events"]);
  EXPECT_EQ(boot_a.ex["Array State"].substr(0, 2), "AA");
  EXPECT_EQ(efi_a.ex["State"], "clean");
  EXPECT_EQ(boot_a.ex["State"], "clean");
  EXPECT_EQ(efi_a.data_bytes, efi_b.data_bytes);
  EXPECT_TRUE(regions_equal(a, efi_a.data_start, b, efi_b.data_start, efi_a.data_bytes)) << "MOSEFI members differ";
  EXPECT_TRUE(regions_equal(a, boot_a.data_start, b, boot_b.data_start, boot_a.data_bytes)) << "mosboot members differ";
  judge_fat(a, efi_a, kEfiFiles, tmp);
  judge_ext4(a, boot_a, boot_files, tmp);
  judge_ext4(b, boot_b, boot_files, tmp);
}

// Boot 1: partitions, both arrays created with zeroed members, filesystems, files.
json create_steps(const Layout& l) {
  json steps = json::array();
  partition_steps(steps, "/dev/vda", l);
  partition_steps(steps, "/dev/vdb", l);
  steps.push_back(rpc_step("storage.create_raid", {{"name", "MOSEFI"}, {"metadata", "0.90"},
                                                   {"members", {"/dev/vda1", "/dev/vdb1"}}, {"zero_members", true}}));
  steps.push_back(rpc_step("storage.create_raid", {{"name", "mosboot"}, {"metadata", "1.2"},
                                                   {"members", {"/dev/vda2", "/dev/vdb2"}}, {"zero_members", true}}));
  // A member of a running array is refused by every destructive operation.
  steps.push_back(expect_error_step("storage.create_filesystem", {{"device", "/dev/vda2"}, {"fstype", "ext4"}, {"label", "X"}, {"force", true}}, -32001));
  steps.push_back(rpc_step("storage.create_filesystem", {{"device", "/dev/md_MOSEFI"}, {"fstype", "vfat"}, {"label", "MOSEFI"}}));
  steps.push_back(rpc_step("storage.create_filesystem", {{"device", "/dev/md_mosboot"}, {"fstype", "ext4"}, {"label", "MOSBOOT"}}));
  steps.push_back(mount_step("/dev/md/MOSEFI", "/mnt/efi", "vfat"));
  steps.push_back(mount_step("/dev/md/mosboot", "/mnt/boot", "ext4"));
  write_steps(steps, "/mnt/efi", kEfiFiles);
  write_steps(steps, "/mnt/boot", kBootFiles);
  read_steps(steps, "/mnt/efi", kEfiFiles);
  read_steps(steps, "/mnt/boot", kBootFiles);
  steps.push_back(rpc_step("storage.list_raids"));
  steps.push_back(rpc_step("storage.inventory"));
  return steps;
}

// A later boot: assemble everything found, mount both arrays by their links, read the files.
json assemble_and_read_steps() {
  json steps = json::array();
  steps.push_back(rpc_step("storage.assemble_raid"));
  steps.push_back(mount_step("/dev/md/MOSEFI", "/mnt/efi", "vfat"));
  steps.push_back(mount_step("/dev/md/mosboot", "/mnt/boot", "ext4"));
  read_steps(steps, "/mnt/efi", kEfiFiles);
  read_steps(steps, "/mnt/boot", kBootFiles);
  return steps;
}

void check_created(const VmResult& r, const json& steps) {
  json efi = result_of(r, steps, "storage.create_raid", 0), boot_md = result_of(r, steps, "storage.create_raid", 1);
  EXPECT_TRUE(efi["started"].get<bool>()) << efi.dump();
  EXPECT_FALSE(efi["resync"].get<bool>());
  EXPECT_EQ(efi["array"]["device"], "/dev/md_MOSEFI");
  EXPECT_EQ(efi["array"]["link"], "/dev/md/MOSEFI");
  EXPECT_EQ(efi["array"]["metadata"], "0.90");
  EXPECT_EQ(boot_md["array"]["metadata"], "1.2");
  json list = result_of(r, steps, "storage.list_raids");
  ASSERT_EQ(list.size(), 2u) << list.dump();
  for (const auto& a : list) {
    EXPECT_EQ(a["degraded"], 0) << a.dump();
    EXPECT_EQ(a["level"], "raid1");
    EXPECT_EQ(a["members"].size(), 2u);
  }
  EXPECT_EQ(result_of(r, steps, "storage.inventory")["raids"].size(), 2u);
}

void mirror_scenario(const std::string& name, const Layout& l, bool full_lifecycle) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img", c = dir / "c.img", tmp = dir / "region.img";
  const VmDisk da{a, l.disk, l.sector}, db{b, l.disk, l.sector}, dc{c, l.disk, l.sector};

  // (1) create.
  json s1 = create_steps(l);
  VmResult r1 = boot(name + "_create", {da, db}, s1);
  check_created(r1, s1);
  judge_mirrors(a, b, l, kBootFiles, tmp);
  if (!full_lifecycle || ::testing::Test::HasFailure()) return;

  // (2) reboot: assemble both, data intact; stop refused while mounted; stop + assemble again;
  // then mosboot loses /dev/vdb2 (failed + removed).
  json s2 = assemble_and_read_steps();
  s2.push_back(expect_error_step("storage.stop_raid", {{"array", "mosboot"}}, -32001));
  s2.push_back(rpc_step("storage.unmount", {{"path", "/mnt/boot"}}));
  s2.push_back(rpc_step("storage.stop_raid", {{"array", "mosboot"}}));
  s2.push_back(rpc_step("storage.assemble_raid", {{"name", "mosboot"}}));
  s2.push_back(rpc_step("storage.raid_remove_member", {{"array", "mosboot"}, {"device", "/dev/vdb2"}}));
  s2.push_back(rpc_step("storage.list_raids"));
  VmResult r2 = boot(name + "_reboot", {da, db}, s2);
  json assembled = result_of(r2, s2, "storage.assemble_raid");
  ASSERT_EQ(assembled["arrays"].size(), 2u) << assembled.dump();
  for (const auto& arr : assembled["arrays"]) {
    EXPECT_EQ(arr["outcome"], "started") << arr.dump();
    EXPECT_TRUE(arr.at("left_out").empty()) << arr.dump();
  }
  EXPECT_EQ(result_of(r2, s2, "storage.assemble_raid", 1)["arrays"][0]["outcome"], "started");
  json removed = result_of(r2, s2, "storage.raid_remove_member");
  EXPECT_EQ(removed["degraded"], 1) << removed.dump();
  Member boot_a = judge_member(a, l.boot_start, l.boot_size, false, tmp);
  Member boot_b = judge_member(b, l.boot_start, l.boot_size, false, tmp);
  EXPECT_EQ(boot_a.ex["Array State"].substr(0, 2), "A.") << "the survivor records the removed member";
  EXPECT_GT(leading_number(boot_a.ex["Events"]), leading_number(boot_b.ex["Events"]));
  if (::testing::Test::HasFailure()) return;

  // Both disks again: b's removed mosboot member is left out and reported, never merged; the
  // MOSEFI mirror assembles whole.
  json s2b = json::array();
  s2b.push_back(rpc_step("storage.assemble_raid"));
  s2b.push_back(rpc_step("storage.list_raids"));
  VmResult r2b = boot(name + "_left_out", {da, db}, s2b);
  json again = result_of(r2b, s2b, "storage.assemble_raid");
  ASSERT_EQ(again["arrays"].size(), 2u) << again.dump();
  for (const auto& arr : again["arrays"]) {
    if (arr["name"] == "MOSEFI") {
      EXPECT_EQ(arr["outcome"], "started") << arr.dump();
      continue;
    }
    EXPECT_EQ(arr["outcome"], "started_degraded") << arr.dump();
    EXPECT_EQ(arr["members"], json::array({"/dev/vda2"})) << arr.dump();
    ASSERT_EQ(arr["left_out"].size(), 1u) << arr.dump();
    EXPECT_EQ(arr["left_out"][0]["device"], "/dev/vdb2") << arr.dump();
    std::printf("[ md left out ] %s: %s\n", arr["left_out"][0]["device"].get<std::string>().c_str(),
                arr["left_out"][0]["reason"].get<std::string>().c_str());
  }
  if (::testing::Test::HasFailure()) return;

  // (3) disk b gone: degraded assembly, data intact, a new file written degraded.
  json s3 = assemble_and_read_steps();
  write_steps(s3, "/mnt/boot", {kDegradedFile});
  s3.push_back(rpc_step("storage.list_raids"));
  VmResult r3 = boot(name + "_degraded", {da}, s3);
  json degraded = result_of(r3, s3, "storage.assemble_raid");
  ASSERT_EQ(degraded["arrays"].size(), 2u) << degraded.dump();
  for (const auto& arr : degraded["arrays"]) {
    EXPECT_EQ(arr["outcome"], "started_degraded") << arr.dump();
    EXPECT_EQ(arr["missing_slots"], json::array({1})) << arr.dump();
  }
  for (const auto& arr : result_of(r3, s3, "storage.list_raids")) EXPECT_EQ(arr["degraded"], 1) << arr.dump();
  if (::testing::Test::HasFailure()) return;

  // (4) a blank disk in b's place: partitioned like the survivor, added, rebuilt.
  json s4 = json::array();
  s4.push_back(rpc_step("storage.assemble_raid"));
  partition_steps(s4, "/dev/vdb", l);
  s4.push_back(rpc_step("storage.raid_add_member", {{"array", "MOSEFI"}, {"device", "/dev/vdb1"}}));
  s4.push_back(rpc_step("storage.raid_add_member", {{"array", "/dev/md/mosboot"}, {"device", "/dev/vdb2"}}));
  s4.push_back({{"op", "wait"}, {"method", "storage.jobs"}, {"params", json::object()}, {"timeout_ms", 400000},
                {"interval_ms", 500}, {"until", {{"/0/state", "succeeded"}, {"/1/state", "succeeded"}}}});
  s4.push_back(rpc_step("storage.list_raids"));
  s4.push_back(mount_step("/dev/md/mosboot", "/mnt/boot", "ext4"));
  read_steps(s4, "/mnt/boot", {kDegradedFile});
  VmResult r4 = boot(name + "_rebuild", {da, dc}, s4);
  for (const auto& arr : result_of(r4, s4, "storage.list_raids")) {
    EXPECT_EQ(arr["degraded"], 0) << arr.dump();
    EXPECT_EQ(arr["sync_action"], "idle") << arr.dump();
  }
  json added = result_of(r4, s4, "storage.raid_add_member");
  EXPECT_TRUE(added["job"].is_number()) << added.dump();
  std::vector<SeededFile> all_boot = kBootFiles;
  all_boot.push_back(kDegradedFile);
  judge_mirrors(a, c, l, all_boot, tmp);
}

TEST(VmMdRaid, MirrorCreateRebootDegradeRebuild) { mirror_scenario("md_mirror", Layout{}, true); }

TEST(VmMdRaid, Mirror4KnSectors) { mirror_scenario("md_mirror_4kn", layout_4kn(), true); }

}  // namespace
}  // namespace mos::vmtest
