// mos_sysvol meets an I/O error under a superblock (issue 18, "Tests": the host kernel has no
// device-mapper, so this runs in the VM). A node is provisioned by a first boot (with a seeded
// file on /boot); then the guest puts a device-mapper table over its disk that maps the 4 KiB of
// MOSDATA's btrfs primary superblock (partition 5, 64 KiB in) to `error` and the rest `linear`,
// and runs mos_sysvol on it. Checked: nothing formatted and nothing mounted (every region of the
// image byte-identical, sha256: both GPT areas and the five partitions), exit status 1 (MOSDATA
// is not in service) and the damage named in --json (MOSDATA, its device, the primary superblock
// unreadable with a valid copy).
//
// The stack in the guest: /dev/vda is the node's disk shifted by 1 MiB (the host inserts 1 MiB of
// zeros in front of the image and appends 1 MiB), dm "ioerr" maps all of vda (with the error
// range), and a loop device over dm at 1 MiB is the node's disk as it was. Why: the kernel gives
// dm devices no partitions (mos_sysvol tells the kernel about partitions with BLKPG, which loop
// devices take), and neither vda nor the dm device may carry the node's GPT at their start, else
// mos_sysvol would see the node three times.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/integration/sysvol_support.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1ull << 20, GiB = 1ull << 30;
constexpr uint64_t kDiskBytes = 8 * GiB;
constexpr uint64_t kShift = 1 * MiB;  // zeros in front of the node's disk in the guest's vda
constexpr uint64_t kFileBytes = 300 * KiB + 17;
const char* kBootFile = "/boot/precious";

// Inserts `bytes` of zeros in front of an image (FALLOC_FL_INSERT_RANGE: no copy) and appends
// as many behind it.
void pad_image(const std::string& image, uint64_t bytes) {
  int fd = ::open(image.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << image;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  EXPECT_EQ(::fallocate(fd, FALLOC_FL_INSERT_RANGE, 0, static_cast<off_t>(bytes)), 0) << "insert range: " << errno;
  EXPECT_EQ(::ftruncate(fd, size + static_cast<off_t>(2 * bytes)), 0);
  ::close(fd);
}

const test::Region& region(const std::vector<test::Region>& regions, const std::string& name) {
  for (const auto& r : regions)
    if (r.name == name) return r;
  throw std::runtime_error("no region " + name);
}

TEST(VmSysvolIoError, BtrfsPrimarySuperblockUnreadableNothingFormatted) {
  MOS_REQUIRE_VM();
  RecordProperty("damage", "reads and writes of MOSDATA's btrfs primary superblock (partition 5, 4 KiB at 64 KiB) "
                           "fail with EIO (dm error target)");
  test::TempDir dir;
  const std::string img = dir / "node.img";
  json first = {sysvol_step(), write_step(kBootFile, kFileBytes, 18), op_step("sync")};
  VmResult r1 = run_vm(sysvol_spec("ioerror_first", {{img, kDiskBytes, 512}}, first));
  expect_all_steps_ok(r1, first.size());
  ASSERT_FALSE(HasFailure());

  const std::vector<test::Region> regions = test::gpt_regions(img, kDiskBytes, 512);
  ASSERT_EQ(regions.size(), 7u);  // gpt-head, p1..p5, gpt-tail
  const auto before = test::region_digests(img, regions);
  pad_image(img, kShift);
  ASSERT_FALSE(HasFailure());

  // The error range in the guest's vda (512-byte sectors), the rest linear.
  const uint64_t err_first = (kShift + region(regions, "p5").offset + 64 * KiB) / 512, err_len = 4 * KiB / 512;
  const uint64_t vda_sectors = (kDiskBytes + 2 * kShift) / 512, rest = err_first + err_len;
  json steps = {
      {{"op", "dm_create"},
       {"name", "ioerr"},
       {"targets",
        {{{"start", 0}, {"length", err_first}, {"type", "linear"}, {"params", "/dev/vda 0"}},
         {{"start", err_first}, {"length", err_len}, {"type", "error"}, {"params", ""}},
         {{"start", rest}, {"length", vda_sectors - rest}, {"type", "linear"}, {"params", "/dev/vda " + std::to_string(rest)}}}}},
      {{"op", "loop_attach"}, {"backing", "/dev/mapper/ioerr"}, {"offset", kShift}, {"size_limit", kDiskBytes},
       {"direct_io", true}},
      {{"op", "exec"},
       {"argv", {"/bin/mos_sysvol", "--json", "--allow-devices", "/dev/loop*,/dev/dm-*,/dev/vda"}},
       {"expect_exit", 1},
       {"timeout_ms", 240000}},
      mounts_step()};
  VmSpec spec = sysvol_spec("ioerror_boot", {{img, kDiskBytes + 2 * kShift, 512}}, steps);
  spec.scenario["modules"] = {"dm-mod", "loop"};
  VmResult r2 = run_vm(spec);
  report_wall_time("mos_sysvol over a dm error range", r2);
  expect_all_steps_ok(r2, steps.size());
  ASSERT_NE(r2.step(1), nullptr) << r2.explain();
  const std::string disk = r2.step(1)->value("device", "");
  const json& rep = report_of(r2, 2);
  ASSERT_TRUE(rep.is_object()) << r2.explain();
  EXPECT_EQ(rep.value("mode", ""), "existing") << rep.dump(2);
  EXPECT_EQ(rep.value("exit_status", -1), 1) << rep.dump(2);
  for (const auto& d : rep.value("done", json::array())) {
    EXPECT_EQ(d.get<std::string>().find("created"), std::string::npos) << d;
    EXPECT_EQ(d.get<std::string>().find("wrote GPT"), std::string::npos) << d;
  }
  bool named = false;
  for (const auto& d : rep.value("damage", json::array()))
    if (d.value("part", "") == "MOSDATA (btrfs)" && d.value("device", "") == disk + "p5" &&
        d.value("reason", "").find("primary superblock unreadable") != std::string::npos)
      named = true;
  EXPECT_TRUE(named) << "the unreadable MOSDATA superblock is named in the report\n" << rep.dump(2);
  EXPECT_EQ(rep.value("not_in_service", json::array()), json::array({"MOSDATA (btrfs) on " + disk + "p5"})) << rep.dump(2);

  // Without MOSDATA nothing is mounted (/boot lives under it), so nothing at all is written:
  // the node's disk, at kShift in the image now, is byte-identical region by region.
  ASSERT_NE(r2.step(3), nullptr);
  EXPECT_EQ(r2.step(3)->value("text", "").find("/dev/loop"), std::string::npos) << r2.step(3)->value("text", "");
  std::vector<test::Region> shifted = regions;
  for (auto& r : shifted) r.offset += kShift;
  const auto after = test::region_digests(img, shifted);
  for (const auto& r : regions) EXPECT_EQ(after.at(r.name), before.at(r.name)) << r.name << " was written";
}

}  // namespace
}  // namespace mos::vmtest
