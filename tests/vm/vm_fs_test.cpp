// Our filesystems under the guest kernel: FAT32 (512 and 4096-byte sectors), ext4 and btrfs are
// created by storage.create_filesystem in the guest, mounted by the kernel, written and read
// back across a remount; after power-off the host judges the images with fsck.fat -n + mtools,
// e2fsck -fn + debugfs, and btrfs check.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;

struct SeededFile {
  std::string path;  // inside the mounted filesystem
  uint64_t bytes;
  uint64_t seed;
};

// Steps: create the filesystem, mount, write the files, unmount (pushes everything to disk),
// mount again, read every file back. Returns the steps; `first_read` gets the index of the first read.
json fs_round_trip_steps(const std::string& dev, const std::string& fstype, const std::string& label,
                         const std::string& mnt, const std::vector<SeededFile>& files, const std::string& options,
                         std::vector<size_t>* read_steps, json steps = json::array()) {
  steps.push_back(rpc_step("storage.create_filesystem", {{"device", dev}, {"fstype", fstype}, {"label", label}}));
  json mount = {{"source", dev}, {"target", mnt}, {"fstype", fstype}};
  if (!options.empty()) mount["options"] = options;
  steps.push_back(rpc_step("storage.mount", mount));
  for (const auto& f : files) {
    std::string parent = (mnt + f.path).substr(0, (mnt + f.path).rfind('/'));
    if (parent != mnt) steps.push_back({{"op", "mkdir"}, {"path", parent}});
    steps.push_back(write_step(mnt + f.path, f.bytes, f.seed));
  }
  steps.push_back(rpc_step("storage.unmount", {{"path", mnt}}));
  steps.push_back(rpc_step("storage.mount", mount));
  for (const auto& f : files) {
    read_steps->push_back(steps.size());
    steps.push_back(read_step(mnt + f.path, f.bytes, f.seed));
  }
  steps.push_back({{"op", "list_dir"}, {"path", mnt}});
  return steps;
}

void expect_digests(const VmResult& r, const std::vector<size_t>& read_steps, const std::vector<SeededFile>& files) {
  ASSERT_EQ(read_steps.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const json* line = r.step(read_steps[i]);
    ASSERT_NE(line, nullptr) << r.explain();
    EXPECT_EQ((*line)["size"], files[i].bytes) << files[i].path;
    EXPECT_EQ((*line)["xxh128"], seeded_digest(files[i].seed, files[i].bytes)) << files[i].path;
  }
}

// fsck.fat -n finds nothing, and mtools (which never saw our code) reads the same files.
void judge_fat32_image(const std::string& image, const std::vector<SeededFile>& files, const std::string& label) {
  auto fsck = test::run_tool({"fsck.fat", "-n", "-v", image});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  auto dir = test::run_tool({"env", "MTOOLS_SKIP_CHECK=1", "mdir", "-i", image, "::/"});
  EXPECT_TRUE(dir.ok()) << dir.err;
  EXPECT_NE(dir.out.find(label), std::string::npos) << dir.out;
  for (const auto& f : files) {
    auto copy = test::run_tool({"env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-n", "-i", image, "::" + f.path, "-"});
    ASSERT_TRUE(copy.ok()) << f.path << ": " << copy.err << "\n" << dir.out;
    EXPECT_EQ(copy.out.size(), f.bytes) << f.path;
    EXPECT_TRUE(copy.out == seeded_bytes(f.seed, f.bytes)) << f.path << " differs when read by mtools";
  }
}

void fat32_scenario(const std::string& name, uint32_t sector_size, uint64_t disk_bytes) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::vector<SeededFile> files = {{"/EFI/BOOT/BOOTX64.EFI", MiB + 123, 1},
                                         {"/hello.txt", 5000, 2},
                                         {"/big/data.bin", 24 * MiB + 7, 3},
                                         {"/empty", 0, 4}};
  std::vector<size_t> reads;
  VmSpec spec;
  spec.name = name;
  spec.disks = {{dir / "efi.img", disk_bytes, sector_size}};
  // vfat's default codepage is cp437 and iocharset ascii (CONFIG_FAT_DEFAULT_*): both are modules.
  spec.scenario = {{"modules", {"vfat", "nls_cp437", "nls_ascii", "nls_iso8859-1", "nls_utf8"}},
                   {"steps", fs_round_trip_steps("/dev/vda", "vfat", "MOSEFI", "/mnt/efi", files, "", &reads)}};
  size_t nsteps = spec.scenario["steps"].size();
  VmResult r = run_vm(spec);
  report_wall_time(name, r);
  expect_all_steps_ok(r, nsteps);
  expect_digests(r, reads, files);
  const json* fmt = r.step(0);
  ASSERT_NE(fmt, nullptr);
  std::printf("[ VM fat32 ] %s: create_filesystem %.1f ms in the guest\n", name.c_str(), (*fmt)["ms"].get<double>());
  judge_fat32_image(dir / "efi.img", files, "MOSEFI");
}

TEST(VmFilesystems, Fat32MountedByKernelVfat512) { fat32_scenario("fat32_512", 512, 300 * MiB); }

// 4Kn: FAT32 needs at least 65525 clusters of 4 KiB, i.e. >= 256.6 MiB.
TEST(VmFilesystems, Fat32MountedByKernelVfat4Kn) { fat32_scenario("fat32_4kn", 4096, 300 * MiB); }

TEST(VmFilesystems, Ext4AndBtrfsMountedByKernel) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::vector<SeededFile> ext4_files = {{"/boot/vmlinuz", 9 * MiB + 1, 11}, {"/small", 100, 12}};
  const std::vector<SeededFile> btrfs_files = {{"/var/data.bin", 30 * MiB + 5, 21}, {"/x", 1, 22}};
  std::vector<size_t> ext4_reads, btrfs_reads;
  json steps = fs_round_trip_steps("/dev/vda", "ext4", "MOSBOOT", "/mnt/boot", ext4_files, "", &ext4_reads);
  steps = fs_round_trip_steps("/dev/vdb", "btrfs", "MOSDATA", "/mnt/data", btrfs_files, "noatime,compress=zstd",
                              &btrfs_reads, steps);
  VmSpec spec;
  spec.name = "ext4_btrfs";
  spec.disks = {{dir / "boot.img", 1024 * MiB, 512}, {dir / "data.img", 2048 * MiB, 512}};
  spec.scenario = {{"modules", {"ext4", "btrfs"}}, {"steps", steps}};
  VmResult r = run_vm(spec);
  report_wall_time("ext4 + btrfs", r);
  expect_all_steps_ok(r, steps.size());
  expect_digests(r, ext4_reads, ext4_files);
  expect_digests(r, btrfs_reads, btrfs_files);

  auto e2fsck = test::run_tool({"e2fsck", "-fn", dir / "boot.img"});
  EXPECT_EQ(e2fsck.exit_code, 0) << e2fsck.out << e2fsck.err;
  for (const auto& f : ext4_files) {  // debugfs reads the inode and extents without the kernel
    auto cat = test::run_tool({"debugfs", "-R", "cat " + f.path, dir / "boot.img"});
    ASSERT_TRUE(cat.ok()) << cat.err;
    EXPECT_TRUE(cat.out == seeded_bytes(f.seed, f.bytes)) << f.path << " differs when read by debugfs";
  }
  auto check = test::run_tool({"btrfs", "check", "--readonly", dir / "data.img"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace mos::vmtest
