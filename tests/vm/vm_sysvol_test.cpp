// mos_sysvol booted for real: a shell-less initramfs runs /bin/mos_sysvol (it loads its own
// modules with the product resolver), the guest kernel mounts what it made (vfat ESP included),
// and the host judges the disk images with the oracle tools. Second boot, cmdline sizes, config
// file in the initramfs, crash at each named point then a good boot, foreign disk untouched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/sysvol_support.hpp"
#include "tests/support/harness.hpp"
#include "tests/vm/mos_oracles.hpp"
#include "tests/vm/scenario.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
const char* kSubvols[] = {"system", "etc", "modules", "vm-meta", "mos-bin"};

// Every oracle on a powered-off single-disk image (tests/vm/mos_oracles.hpp). allow_fat_dirty:
// the ESP was mounted when power was cut; vfat then keeps its dirty flag and fsck.fat -n exits 1
// for that alone. Anything else is still a failure.
void judge_mos_image(const std::string& image, uint32_t sector, uint64_t want_swap = 0, uint64_t want_data = 0,
                     bool allow_fat_dirty = false) {
  for (const auto& problem : single_disk_problems(image, {sector, want_swap, want_data, allow_fat_dirty}))
    ADD_FAILURE() << problem;
}

void expect_guest_mounts(const VmResult& r, size_t mounts_step, const std::string& efi = "/boot/efi") {
  const json* m = r.step(mounts_step);
  ASSERT_NE(m, nullptr) << r.explain();
  std::string text = m->value("text", "");
  for (const char* s : kSubvols)
    EXPECT_NE(text.find(std::string(" /var/cache/") + s + " "), std::string::npos) << s << "\n" << text;
  EXPECT_NE(text.find(" /boot rw"), std::string::npos) << text;
  if (!efi.empty()) {
    EXPECT_NE(text.find(" " + efi + " "), std::string::npos) << text;
  }
  EXPECT_NE(text.find(" - vfat "), std::string::npos) << "the guest kernel mounted our FAT32\n" << text;
}

// sha256 of the GPT regions (first and last MiB) of an image.
std::string table_digest(const std::string& image, uint64_t size) {
  auto r = test::run_sh("(dd if=" + image + " bs=1M count=1 status=none; dd if=" + image + " bs=1M skip=" +
                        std::to_string(size / MiB - 1) + " status=none) | sha256sum");
  return r.out;
}

TEST(VmSysvol, SingleDiskFirstBootThenSecondBootChangesNothing) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string img = dir / "a.img";
  json steps = {sysvol_step(), mounts_step(), swaps_step()};
  VmSpec spec = sysvol_spec("sysvol_first", {{img, 8 * GiB, 512}}, steps);
  VmResult first = run_vm(spec);
  report_wall_time("sysvol first boot", first);
  expect_all_steps_ok(first, steps.size());
  const json& rep = report_of(first, 0);
  EXPECT_EQ(rep.value("mode", ""), "fresh") << rep.dump(2);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  if (const json* s = first.step(0)) std::printf("[ VM time  ] mos_sysvol first boot: %.1f ms in the guest\n", (*s)["ms"].get<double>());
  expect_guest_mounts(first, 1);
  ASSERT_NE(first.step(2), nullptr) << first.explain();
  EXPECT_NE(first.step(2)->value("text", "").find("vda4"), std::string::npos) << "swap active";
  judge_mos_image(img, 512, 1 * GiB);

  // Second boot: assembles and mounts; the partition tables are byte-identical.
  const std::string before = table_digest(img, 8 * GiB);
  VmResult second = run_vm(sysvol_spec("sysvol_second", {{img, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(second, steps.size());
  const json& rep2 = report_of(second, 0);
  EXPECT_EQ(rep2.value("mode", ""), "existing") << rep2.dump(2);
  EXPECT_EQ(rep2.value("ready", false), true) << rep2.dump(2);
  if (const json* s = second.step(0)) std::printf("[ VM time  ] mos_sysvol second boot: %.1f ms in the guest\n", (*s)["ms"].get<double>());
  for (const auto& d : rep2.value("done", json::array()))
    EXPECT_EQ(d.get<std::string>().find("created"), std::string::npos) << d;
  expect_guest_mounts(second, 1);
  EXPECT_EQ(table_digest(img, 8 * GiB), before);
  judge_mos_image(img, 512, 1 * GiB);
}

TEST(VmSysvol, CmdlineAndConfigFileOn4KnDisk) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string img = dir / "a.img";
  json steps = {sysvol_step(), mounts_step(), {{"op", "list_dir"}, {"path", "/var/cache/system"}}};
  VmSpec spec = sysvol_spec("sysvol_cmdline", {{img, 12 * GiB, 4096}}, steps);
  spec.cmdline_extra = "mossize=4 mosswap=2";
  spec.extra_files["/etc/mos_sysvol.toml"] =
      "[storage]\nswap_size_gb = 1\ndata_size_gb = 3\n[mount]\nefi = \"/efi\"\n"
      "[[subvolumes]]\nname = \"system\"\n[[subvolumes]]\nname = \"etc\"\n[[subvolumes]]\nname = \"modules\"\n"
      "[[subvolumes]]\nname = \"vm-meta\"\n[[subvolumes]]\nname = \"mos-bin\"\n"
      "[[dirs]]\npath = \"/var/cache/system/overlay-work\"\n";
  VmResult r = run_vm(spec);
  report_wall_time("sysvol cmdline+config 4Kn", r);
  expect_all_steps_ok(r, steps.size());
  expect_guest_mounts(r, 1, "/efi");
  ASSERT_NE(r.step(2), nullptr) << r.explain();
  EXPECT_NE(r.step(2)->dump().find("overlay-work"), std::string::npos) << r.step(2)->dump();
  judge_mos_image(img, 4096, 2 * GiB, 4 * GiB);
}

TEST(VmSysvol, ForeignDiskUntouchedBlankOneProvisioned) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string foreign = dir / "foreign.img", blank = dir / "blank.img";
  // Data no prober names (e.g. an unknown format) in the first MiB of an otherwise empty disk.
  ASSERT_TRUE(test::run_sh("truncate -s 8G " + foreign + " && head -c 65536 /dev/urandom | dd of=" + foreign +
                           " bs=64K seek=3 conv=notrunc status=none").ok());
  const std::string before = test::sparse_digest(foreign);
  json steps = {sysvol_step()};
  VmResult r = run_vm(sysvol_spec("sysvol_foreign", {{foreign, 8 * GiB, 512}, {blank, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(r, steps.size());
  const json& rep = report_of(r, 0);
  ASSERT_EQ(rep.value("plan", json::array()).size(), 1u) << rep.dump(2);
  EXPECT_EQ(rep["plan"][0]["disk"], "/dev/vdb");
  EXPECT_EQ(test::sparse_digest(foreign), before) << "the foreign disk was written";
  judge_mos_image(blank, 512);
}

// Every oracle on both powered-off images of a two-disk node (tests/vm/mos_oracles.hpp).
void judge_dual_images(const std::string& a, const std::string& b) {
  for (const auto& problem : dual_disk_problems(a, b)) ADD_FAILURE() << problem;
}

TEST(VmSysvol, DualDiskFirstBootSecondBootThenDegradedBoot) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img";
  json steps = {sysvol_step(), mounts_step(), {{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}}};
  VmResult first = run_vm(sysvol_spec("sysvol_dual", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, steps));
  report_wall_time("sysvol dual-disk first boot", first);
  expect_all_steps_ok(first, steps.size());
  const json& rep = report_of(first, 0);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("plan", json::array()).size(), 2u) << rep.dump(2);
  if (const json* s = first.step(0)) std::printf("[ VM time  ] mos_sysvol dual first boot: %.1f ms in the guest\n", (*s)["ms"].get<double>());
  expect_guest_mounts(first, 1);
  ASSERT_FALSE(HasFailure()) << first.explain();
  const std::string mi = first.step(1)->value("text", "");
  EXPECT_NE(mi.find(" /boot/efi rw,nosuid,nodev,noexec,relatime - vfat /dev/md_mosefi"), std::string::npos) << mi;
  EXPECT_NE(mi.find(" - ext4 /dev/md_mosboot"), std::string::npos) << mi;
  const std::string mdstat = first.step(2)->value("text", "");
  EXPECT_NE(mdstat.find("md_mosefi : active raid1"), std::string::npos) << mdstat;
  EXPECT_NE(mdstat.find("md_mosboot : active raid1"), std::string::npos) << mdstat;

  // mdadm is the oracle for the md superblocks on both disks, fsck.fat and e2fsck for what is in
  // the arrays, btrfs check for the RAID1 pair.
  judge_dual_images(a, b);

  VmResult second = run_vm(sysvol_spec("sysvol_dual_second", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(second, steps.size());
  const json& rep2 = report_of(second, 0);
  EXPECT_EQ(rep2.value("mode", ""), "existing") << rep2.dump(2);
  EXPECT_EQ(rep2.value("ready", false), true) << rep2.dump(2);
  EXPECT_EQ(rep2.value("degraded", true), false) << rep2.dump(2);
  expect_guest_mounts(second, 1);

  // Disk b gone: everything mounts degraded; exit 2 (ready, part of the layout out of service),
  // and the report says so.
  json degraded_steps = {sysvol_step({}, json::object(), 2), mounts_step(), steps[2]};
  VmResult degraded = run_vm(sysvol_spec("sysvol_degraded", {{a, 8 * GiB, 512}}, degraded_steps));
  expect_all_steps_ok(degraded, degraded_steps.size());
  const json& rep3 = report_of(degraded, 0);
  EXPECT_EQ(rep3.value("ready", false), true) << rep3.dump(2);
  EXPECT_EQ(rep3.value("degraded", false), true) << rep3.dump(2);
  EXPECT_FALSE(rep3.value("not_in_service", json::array()).empty()) << rep3.dump(2);
  ASSERT_NE(degraded.step(0), nullptr) << degraded.explain();
  EXPECT_NE(degraded.step(0)->value("stderr", "").find("DEGRADED"), std::string::npos);
  expect_guest_mounts(degraded, 1);
}

// The FAT32 volume id on the mosefi partition of an image (on two disks inside its md member:
// 0.90 keeps the data at offset 0), "" when no FAT32 is there yet.
std::string esp_volume_id(const std::string& image) {
  json parts = partitions_of(image);
  if (parts.size() != 5) return {};
  std::ifstream in(image, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(parts[1]["start"].get<uint64_t>() * 512));
  std::string bpb(90, '\0');
  in.read(bpb.data(), static_cast<std::streamsize>(bpb.size()));
  if (bpb.compare(82, 8, "FAT32   ") != 0) return {};
  return bpb.substr(67, 4);
}

// mos_sysvol stops at a crash point (the injected error ends the run there, exit 1), then power
// is cut without sync; the next boot must finish the job and end in the same layout, and an ESP
// the crash left complete keeps its volume id (a step recorded done, or done with its record not
// yet cleared, is never formatted again).
//
// The points before the mounts share two guest boots (a boot costs ~10 s of TCG, and they were 12
// pairs of boots): the first boot runs mos_sysvol once per point, each on its own disk and
// allowed only that disk, and cuts power after the last; the second boots mos_sysvol on each disk
// in turn and releases its storage before the next. A run stopped at these points leaves nothing
// mounted or active (an injected crash unwinds; the subvolume step's private mount ends with it),
// so no run sees another's state. The two points after the mounts leave the node mounted at
// fixed places: they keep a guest each (VmSysvolCrashMounted below).
const std::vector<std::string> kPointsBeforeMounts = {
    "gpt:after-backup",        "gpt:after-primary",    "sysvol:after-gpt",      "sysvol:after-efi-fs",
    "record:after-backup",     "record:after-primary", "sysvol:after-efi-record", "sysvol:after-boot-fs",
    "sysvol:after-swap-fs",    "sysvol:after-data-fs", "sysvol:after-data-record", "sysvol:after-subvolumes"};

// mos_sysvol allowed one guest disk only; a run stopped at a crash point prints its text report.
json sysvol_on(const std::string& disk, const json& env, int expect_exit) {
  json s = sysvol_step({}, env, expect_exit);
  s["argv"] = {"/bin/mos_sysvol", "--allow-devices", "/dev/" + disk + ",/dev/" + disk + "[0-9]*"};
  if (expect_exit == 0) s["argv"].insert(s["argv"].begin() + 1, "--json");
  return s;
}

// What the crash left for one point: the ESP's volume id when a complete FAT32 is there.
std::string esp_after_crash(const std::string& point, const std::string& image) {
  // At the gpt points only the backup table may exist yet (sfdisk reads no table): no ESP either.
  return point.rfind("gpt:", 0) == 0 ? std::string() : esp_volume_id(image);
}

TEST(VmSysvolCrash, EveryPointBeforeTheMountsThenTheNextBootEndsInTheSameLayout) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const auto& points = kPointsBeforeMounts;
  std::vector<VmDisk> disks;
  json crash_steps = json::array(), boot_steps = json::array();
  for (size_t k = 0; k < points.size(); ++k) {
    const std::string disk = std::string("vd") + char('a' + k);
    disks.push_back({dir / ("p" + std::to_string(k) + ".img"), 8 * GiB, 512});
    crash_steps.push_back(sysvol_on(disk, {{"MOS_VOLMGR_CRASH_POINT", points[k]}}, 1));
    boot_steps.push_back(sysvol_on(disk, json::object(), 0));
    boot_steps.push_back(mounts_step());
    boot_steps.push_back({{"op", "release"}});
  }
  crash_steps.push_back({{"op", "crash"}});
  VmResult crashed = run_vm(sysvol_spec("sysvol_crash_points", disks, crash_steps));
  report_wall_time("mos_sysvol stopped at " + std::to_string(points.size()) + " crash points", crashed);
  expect_steps_ok_until_crash(crashed, points.size());
  std::vector<std::string> esp_ids;
  for (size_t k = 0; k < points.size(); ++k) {
    const json* s = crashed.step(k);
    ASSERT_NE(s, nullptr) << points[k];
    EXPECT_NE(s->value("stdout", "").find("injected crash at " + points[k]), std::string::npos)
        << "the crash point did not fire: " << s->dump();
    esp_ids.push_back(esp_after_crash(points[k], disks[k].path));
  }
  ASSERT_FALSE(HasFailure());

  VmResult good = run_vm(sysvol_spec("sysvol_after_crash_points", disks, boot_steps));
  report_wall_time("mos_sysvol booted after " + std::to_string(points.size()) + " crash points", good);
  expect_all_steps_ok(good, boot_steps.size());
  for (size_t k = 0; k < points.size(); ++k) {
    SCOPED_TRACE("crash point " + points[k]);
    EXPECT_EQ(report_of(good, 3 * k).value("ready", false), true) << report_of(good, 3 * k).dump(2);
    const json* m = good.step(3 * k + 1);
    ASSERT_NE(m, nullptr) << good.explain();
    const std::string text = m->value("text", "");
    for (const char* s : kSubvols)
      EXPECT_NE(text.find(std::string(" /var/cache/") + s + " "), std::string::npos) << s << "\n" << text;
    EXPECT_NE(text.find(" /boot rw"), std::string::npos) << text;
    EXPECT_NE(text.find(" /boot/efi "), std::string::npos) << text;
    judge_mos_image(disks[k].path, 512, 1 * GiB);
    if (!esp_ids[k].empty()) {
      EXPECT_EQ(esp_volume_id(disks[k].path), esp_ids[k])
          << "the ESP the crash left complete was formatted again\n" << good.step(3 * k)->value("stderr", "");
    }
  }
}

// The points after the mounts, one guest each: the crash leaves the node mounted (and swap on).
class VmSysvolCrashMounted : public ::testing::TestWithParam<const char*> {};

TEST_P(VmSysvolCrashMounted, NextBootEndsInTheSameLayout) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string img = dir / "a.img";
  const std::string point = GetParam();
  json crash_steps = {sysvol_on("vda", {{"MOS_VOLMGR_CRASH_POINT", point}}, 1), {{"op", "crash"}}};
  VmResult crashed = run_vm(sysvol_spec("sysvol_crash", {{img, 8 * GiB, 512}}, crash_steps));
  expect_steps_ok_until_crash(crashed, 1);
  const json* s0 = crashed.step(0);
  ASSERT_NE(s0, nullptr);
  EXPECT_NE(s0->value("stdout", "").find("injected crash at " + point), std::string::npos) << s0->dump();
  const std::string esp_id = esp_after_crash(point, img);
  json steps = {sysvol_step(), mounts_step()};
  VmResult good = run_vm(sysvol_spec("sysvol_after_crash", {{img, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(good, steps.size());
  EXPECT_EQ(report_of(good, 0).value("ready", false), true) << report_of(good, 0).dump(2);
  expect_guest_mounts(good, 1);
  // vfat keeps its dirty flag when power is cut with the ESP mounted (fsck.fat -n exits 1 for it).
  judge_mos_image(img, 512, 1 * GiB, 0, true);
  if (!esp_id.empty()) {
    EXPECT_EQ(esp_volume_id(img), esp_id) << "the ESP the crash left complete was formatted again\n"
                                          << good.step(0)->value("stderr", "");
  }
}

// The same on two disks at the md steps and the record writes: the next boot finishes both disks,
// RAID1 and all (an array whose format completed before its record was cleared is kept); the
// point must have fired, and every oracle judges both images afterwards. Each crash needs a guest
// of its own (the arrays have fixed names and are left assembled, as a power cut leaves them);
// the next boots share one guest, each pair of disks allowed alone and released before the next.
const std::vector<std::string> kDualPoints = {"sysvol:after-gpt",        "sysvol:after-efi-raid", "sysvol:after-efi-fs",
                                              "record:after-backup",     "sysvol:after-efi-record", "sysvol:after-boot-fs",
                                              "sysvol:after-data-fs",    "sysvol:after-data-record"};

json sysvol_on_pair(const std::string& a, const std::string& b, const json& env, int expect_exit) {
  json s = sysvol_step({}, env, expect_exit);
  s["argv"] = {"/bin/mos_sysvol", "--allow-devices",
               "/dev/" + a + ",/dev/" + a + "[0-9]*,/dev/" + b + ",/dev/" + b + "[0-9]*"};
  if (expect_exit == 0) s["argv"].insert(s["argv"].begin() + 1, "--json");
  return s;
}

TEST(VmSysvolDualCrash, EveryPointThenTheNextBootFinishesBothDisks) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const auto& points = kDualPoints;
  std::vector<VmDisk> disks;
  std::vector<std::string> esp_ids;
  json boot_steps = json::array();
  for (size_t k = 0; k < points.size(); ++k) {
    SCOPED_TRACE("crash point " + points[k]);
    const VmDisk a{dir / ("a" + std::to_string(k) + ".img"), 8 * GiB, 512};
    const VmDisk b{dir / ("b" + std::to_string(k) + ".img"), 8 * GiB, 512};
    json crash_steps = {sysvol_on_pair("vda", "vdb", {{"MOS_VOLMGR_CRASH_POINT", points[k]}}, 1), {{"op", "crash"}}};
    VmResult crashed = run_vm(sysvol_spec("sysvol_dual_crash", {a, b}, crash_steps));
    expect_steps_ok_until_crash(crashed, 1);
    ASSERT_NE(crashed.step(0), nullptr);
    EXPECT_NE(crashed.step(0)->value("stdout", "").find("injected crash at " + points[k]), std::string::npos)
        << "the crash point did not fire: " << crashed.step(0)->dump();
    esp_ids.push_back(esp_volume_id(a.path));
    const std::string da = std::string("vd") + char('a' + disks.size()), db = std::string("vd") + char('b' + disks.size());
    disks.push_back(a);
    disks.push_back(b);
    boot_steps.push_back(sysvol_on_pair(da, db, json::object(), 0));
    boot_steps.push_back(mounts_step());
    boot_steps.push_back({{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}});
    boot_steps.push_back({{"op", "release"}});
  }
  ASSERT_FALSE(HasFailure());
  VmResult good = run_vm(sysvol_spec("sysvol_dual_after_crash_points", disks, boot_steps));
  report_wall_time("mos_sysvol booted on " + std::to_string(points.size()) + " crashed pairs", good);
  expect_all_steps_ok(good, boot_steps.size());
  for (size_t k = 0; k < points.size(); ++k) {
    SCOPED_TRACE("crash point " + points[k]);
    const json& rep = report_of(good, 4 * k);
    EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
    EXPECT_EQ(rep.value("degraded", true), false) << rep.dump(2);
    const json* m = good.step(4 * k + 1);
    const json* md = good.step(4 * k + 2);
    ASSERT_TRUE(m && md) << good.explain();
    const std::string text = m->value("text", "");
    for (const char* s : kSubvols)
      EXPECT_NE(text.find(std::string(" /var/cache/") + s + " "), std::string::npos) << s << "\n" << text;
    EXPECT_NE(text.find(" - ext4 /dev/md_mosboot"), std::string::npos) << text;
    EXPECT_NE(text.find(" /boot/efi rw,nosuid,nodev,noexec,relatime - vfat /dev/md_mosefi"), std::string::npos) << text;
    EXPECT_NE(md->value("text", "").find("md_mosboot : active raid1"), std::string::npos) << md->dump();
    if (!esp_ids[k].empty()) {
      EXPECT_EQ(esp_volume_id(disks[2 * k].path), esp_ids[k])
          << "the ESP the crash left complete was formatted again\n" << good.step(4 * k)->value("stderr", "");
    }
    // The boot after the crash leaves both disks as a first boot does: every oracle agrees.
    judge_dual_images(disks[2 * k].path, disks[2 * k + 1].path);
  }
}

INSTANTIATE_TEST_SUITE_P(Points, VmSysvolCrashMounted, ::testing::Values("sysvol:after-mounts", "sysvol:after-swapon"),
                         point_test_name);

}  // namespace
}  // namespace mos::vmtest
