// Damaged is not blank, in the prober: images made by the real tools (mkfs.btrfs with crc32c,
// xxhash and sha256 checksums, mkfs.ext4 with 1, 2, 4 KiB blocks and non-default -g, mkfs.vfat
// FAT32 with 512- and 4096-byte sectors, sgdisk) are damaged the way one bad write does it (8
// bytes over the primary's magic or a field, the first MiB zeroed, one checksummed byte flipped).
// The probe must still name the filesystem, with `damaged` naming the valid copy and the label
// and UUID blkid printed before the damage. Healthy images report no damage.
#include <gtest/gtest.h>
#include <fcntl.h>

#include <cstdio>
#include <ostream>
#include <string>

#include "fsmake/probe/probe.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/damage.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

enum class Damage { magic, first_mib, checksum, none };

struct Case {
  const char* name;
  uint64_t size_mib;
  const char* make;  // $IMG is the image file
  Damage damage;
  uint64_t at;           // magic/checksum: the byte offset damaged
  const char* type;      // what the probe must report after the damage
  const char* copy;      // text the damaged field must contain ("" for Damage::none)
  uint32_t sector_size = 512;
};

// Offsets: btrfs magic 64 KiB + 0x40, a checksummed reserved byte 64 KiB + 0x800; ext4 magic
// 1024 + 0x38, s_mount_opts (checksummed) 1024 + 0x200; FAT32 BPB fields from 0x0b.
const Case kCases[] = {
    {"btrfs_magic", 300, "mkfs.btrfs -q -f -L MOSDATA $IMG", Damage::magic, 0x10040, "btrfs", "btrfs mirror 1"},
    {"btrfs_first_mib", 300, "mkfs.btrfs -q -f -L MOSDATA $IMG", Damage::first_mib, 0, "btrfs", "copy at 67108864"},
    {"btrfs_checksum", 300, "mkfs.btrfs -q -f -L MOSDATA $IMG", Damage::checksum, 0x10800, "btrfs", "checksum mismatch"},
    {"btrfs_xxhash_magic", 300, "mkfs.btrfs -q -f --csum xxhash -L X $IMG", Damage::magic, 0x10040, "btrfs", "btrfs mirror 1"},
    {"btrfs_xxhash_checksum", 300, "mkfs.btrfs -q -f --csum xxhash -L X $IMG", Damage::checksum, 0x10800, "btrfs", "checksum mismatch"},
    {"btrfs_sha256_magic", 300, "mkfs.btrfs -q -f --csum sha256 -L S $IMG", Damage::magic, 0x10040, "btrfs", "cannot be verified here"},
    {"ext4_4k_first_mib", 600, "mkfs.ext4 -q -F -b 4096 -L MOSBOOT $IMG", Damage::first_mib, 0, "ext4", "group 1, 4096-byte"},
    {"ext4_2k_first_mib", 300, "mkfs.ext4 -q -F -b 2048 -L MOSBOOT $IMG", Damage::first_mib, 0, "ext4", "group 1, 2048-byte"},
    {"ext4_1k_first_mib", 64, "mkfs.ext4 -q -F -b 1024 -L MOSBOOT $IMG", Damage::first_mib, 0, "ext4", "group 1, 1024-byte"},
    {"ext4_4k_magic", 600, "mkfs.ext4 -q -F -b 4096 -L MOSBOOT $IMG", Damage::magic, 0x438, "ext4", "group 1"},
    {"ext4_4k_g8192_magic", 300, "mkfs.ext4 -q -F -b 4096 -g 8192 -L G $IMG", Damage::magic, 0x438, "ext4", "copy at 33554432"},
    {"ext4_1k_g2048_magic", 64, "mkfs.ext4 -q -F -b 1024 -g 2048 -L G $IMG", Damage::magic, 0x438, "ext4", "copy at 2098176"},
    // A -g geometry with the primary gone: found among the other group sizes mke2fs accepts.
    {"ext4_4k_g8192_first_mib", 300, "mkfs.ext4 -q -F -b 4096 -g 8192 -L G $IMG", Damage::first_mib, 0, "ext4", "copy at 33554432"},
    {"ext4_1k_g2048_first_mib", 64, "mkfs.ext4 -q -F -b 1024 -g 2048 -L G $IMG", Damage::first_mib, 0, "ext4", "copy at 2098176"},
    {"ext4_checksum", 300, "mkfs.ext4 -q -F -O metadata_csum -L MOSBOOT $IMG", Damage::checksum, 0x600, "ext4", "checksum mismatch"},
    {"ext3_first_mib", 300, "mkfs.ext3 -q -F -L OLD $IMG", Damage::first_mib, 0, "ext3", "ext3 backup superblock"},
    {"vfat32_bpb", 320, "mkfs.vfat -F 32 -n MOSEFI $IMG", Damage::magic, 0x0b, "vfat", "FAT32 backup boot sector, sector 6"},
    {"vfat32_first_sector", 320, "mkfs.vfat -F 32 -n MOSEFI $IMG", Damage::first_mib, 0, "vfat", "copy at 3072"},
    {"vfat32_4k_bpb", 1100, "mkfs.vfat -F 32 -S 4096 -n MOSEFI $IMG", Damage::magic, 0x0b, "vfat", "copy at 24576", 4096},
    {"gpt_primary_header", 64, "sgdisk -o -n1:0:+8M $IMG >/dev/null", Damage::magic, 512, "", "backup header at LBA"},
    {"gpt_first_mib", 64, "sgdisk -o -n1:0:+8M $IMG >/dev/null", Damage::first_mib, 0, "", "protective MBR and primary GPT"},
    {"btrfs_healthy", 300, "mkfs.btrfs -q -f -L MOSDATA $IMG", Damage::none, 0, "btrfs", ""},
    {"ext4_healthy", 300, "mkfs.ext4 -q -F -L MOSBOOT $IMG", Damage::none, 0, "ext4", ""},
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

fsmake::ProbeResult probe_file(const std::string& path, uint64_t size, uint32_t sector_size) {
  io::Fd fd = io::Fd::open(path, O_RDONLY);
  return fsmake::probe_device(fd, size, sector_size);
}

class ProbeCopies : public ::testing::TestWithParam<Case> {};

TEST_P(ProbeCopies, DamagedPrimaryIsStillThatFilesystem) {
  const Case& c = GetParam();
  TempDir dir;
  const std::string img = dir / "img";
  const uint64_t size = c.size_mib * MiB;
  ASSERT_TRUE(run_sh("truncate -s " + std::to_string(size) + " " + img).ok());
  auto made = run_sh(std::string("IMG=") + img + "; " + c.make);
  ASSERT_TRUE(made.ok()) << made.err;
  auto before = blkid_probe(img);
  auto healthy = probe_file(img, size, c.sector_size);
  EXPECT_EQ(healthy.damaged, "") << "a healthy image reports damage";
  EXPECT_EQ(healthy.type, before["TYPE"]);

  switch (c.damage) {
    case Damage::magic: overwrite(img, c.at, "DAMAGED!"); break;
    // The FAT32 case zeroes only its boot sector: its backup (sector 6) is inside the first MiB.
    case Damage::first_mib: zero_range(img, 0, std::string(c.type) == "vfat" ? 512 : MiB); break;
    case Damage::checksum: flip_byte(img, c.at); break;
    case Damage::none: break;
  }
  auto r = probe_file(img, size, c.sector_size);
  std::printf("%s: type=%s label=%s damaged=%s\n", c.name, r.type.c_str(), r.label.c_str(), r.damaged.c_str());
  EXPECT_EQ(r.type, c.type) << r.damaged;
  if (c.damage == Damage::none) {
    EXPECT_EQ(r.damaged, "");
    return;
  }
  EXPECT_NE(r.damaged.find(c.copy), std::string::npos) << r.damaged;
  if (*c.type) {
    EXPECT_EQ(r.label, before["LABEL"]);
    EXPECT_EQ(r.uuid, before["UUID"]);
  } else {
    EXPECT_EQ(r.pttype, "gpt");
    EXPECT_EQ(r.ptuuid, before["PTUUID"]);
  }
  EXPECT_TRUE(r.copy_valid);
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Tools, ProbeCopies, ::testing::ValuesIn(kCases), case_name);

// A blank image has no copy: nothing named, nothing damaged.
TEST(ProbeCopiesBlank, NothingIsNotDamaged) {
  TempDir dir;
  const std::string img = dir / "img";
  ASSERT_TRUE(run_sh("truncate -s 600M " + img).ok());
  auto r = probe_file(img, 600 * MiB, 512);
  EXPECT_EQ(r.type, "");
  EXPECT_EQ(r.pttype, "");
  EXPECT_EQ(r.damaged, "");
}

}  // namespace
}  // namespace mos::test
