// FAT32 writer against the oracles: fsck.fat -n, mtools, blkid -p, and mkfs.vfat's geometry.
// (The kernel here has no vfat driver; kernel mounts belong to the VM tests.)
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fsmake/fat32.hpp"
#include "base/bytes.hpp"
#include "tests/support/format_sandbox.hpp"
#include "tests/support/fs_oracles.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;
constexpr uint32_t kVolumeId = 0x4D4F5321;

SandboxResult make_fat32(const std::string& dev, const std::string& label) {
  return format_in_sandbox(dev, [&](const io::BlockFacts& f) {
    return fsmake::fat32::plan_mkfs({label, kVolumeId, 0}, f.size_bytes, f.logical_sector_size);
  });
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// Files in, directories made, files out again, byte for byte, through mtools' own FAT code.
void expect_mtools_round_trip(const std::string& dev) {
  TempDir dir;
  std::string big(3 * MiB + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_file(dir / "big.bin", big);
  write_file(dir / "hello.txt", "hello from mos_volmgr\n");
  write_file(dir / "empty.txt", "");
  auto ok = [](const ToolResult& r) { EXPECT_TRUE(r.ok()) << r.out << r.err; };
  ok(run_tool({"mmd", "-i", dev, "::/sub"}));
  ok(run_tool({"mcopy", "-i", dev, dir / "hello.txt", "::/hello.txt"}));
  ok(run_tool({"mcopy", "-i", dev, dir / "empty.txt", "::/empty.txt"}));
  ok(run_tool({"mcopy", "-i", dev, dir / "big.bin", "::/sub/big.bin"}));
  ToolResult ls = run_tool({"mdir", "-i", dev, "-b", "-/", "::/"});
  ok(ls);
  for (const char* name : {"::/hello.txt", "::/empty.txt", "::/sub/big.bin"})
    EXPECT_NE(ls.out.find(name), std::string::npos) << ls.out;
  ok(run_tool({"mcopy", "-i", dev, "::/hello.txt", dir / "hello.back"}));
  ok(run_tool({"mcopy", "-i", dev, "::/sub/big.bin", dir / "big.back"}));
  EXPECT_EQ(slurp(dir / "hello.back"), "hello from mos_volmgr\n");
  EXPECT_TRUE(slurp(dir / "big.back") == big) << "3 MiB file changed on its way through FAT32";
}

// Boot-sector fields read by offset (fatgen103), independent of our structs.
struct Bpb {
  uint32_t bytes_per_sector, sectors_per_cluster, reserved, fats, total_sectors, fat_size;
  uint32_t sectors_per_track, heads;
};
Bpb bpb_at(const std::vector<uint8_t>& s) {
  return {load_le16(&s[11]), s[13], load_le16(&s[14]), s[16], load_le32(&s[32]), load_le32(&s[36]),
          load_le16(&s[24]), load_le16(&s[26])};
}

struct Case { uint64_t size; uint32_t sector; const char* label; };
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.size << " bytes, " << c.sector << "-byte sectors, label '" << c.label << "'";
}

class Fat32Oracle : public ::testing::TestWithParam<Case> {};

TEST_P(Fat32Oracle, FsckMtoolsBlkidAndMkfsVfatGeometry) {
  MOS_REQUIRE_ROOT();
  const Case c = GetParam();
  LoopImage img(c.size, c.sector);
  SandboxResult r = make_fat32(img.dev(), c.label);
  ASSERT_TRUE(r.ok) << r.text;

  expect_fsck_fat_clean(img.dev());
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "vfat");
  EXPECT_EQ(id["VERSION"], "FAT32");
  std::string export_label;  // blkid -o export escapes spaces
  for (char ch : std::string(c.label)) export_label += ch == ' ' ? std::string("\\ ") : std::string(1, ch);
  EXPECT_EQ(id["LABEL"], export_label);
  EXPECT_EQ(id["UUID"], "4D4F-5321");
  EXPECT_EQ(id.count("SEC_TYPE"), 0u) << "SEC_TYPE=" << id["SEC_TYPE"];
  EXPECT_EQ(id["BLOCK_SIZE"], std::to_string(c.sector));

  expect_mtools_round_trip(img.dev());
  expect_fsck_fat_clean(img.dev());  // still consistent after mtools allocated clusters

  // Geometry against mkfs.vfat -F 32 on an image of the same size and sector size.
  TempDir dir;
  std::string ref = dir / "ref.img";
  std::ofstream(ref).close();
  ASSERT_EQ(truncate(ref.c_str(), static_cast<off_t>(c.size)), 0);
  ToolResult mk = run_tool({"mkfs.vfat", "-F", "32", "-S", std::to_string(c.sector), "-n", "REF", ref});
  ASSERT_TRUE(mk.ok()) << mk.out << mk.err;
  std::vector<uint8_t> ref_sector(512);
  {
    std::ifstream in(ref, std::ios::binary);
    in.read(reinterpret_cast<char*>(ref_sector.data()), 512);
  }
  Bpb ours = bpb_at(read_device(img.dev(), 0, 512)), theirs = bpb_at(ref_sector);
  EXPECT_EQ(ours.bytes_per_sector, theirs.bytes_per_sector);
  EXPECT_EQ(ours.sectors_per_cluster, theirs.sectors_per_cluster);
  EXPECT_EQ(ours.fats, theirs.fats);
  EXPECT_EQ(ours.total_sectors, theirs.total_sectors);
  if (theirs.sectors_per_cluster * theirs.bytes_per_sector == 32768 && theirs.reserved != 32) {
    // Deliberate difference: to start the data area on a 32 KiB cluster, mkfs.vfat grows the
    // reserved area to 64 sectors; we keep Microsoft's 32 and pad the FAT instead.
    EXPECT_EQ(ours.reserved, 32u);
    auto clusters = [](const Bpb& b) {
      return (b.total_sectors - b.reserved - b.fats * b.fat_size) / b.sectors_per_cluster;
    };
    EXPECT_GE(clusters(ours) + 1, clusters(theirs));  // padding the FAT costs at most a cluster
  } else {
    EXPECT_EQ(ours.reserved, theirs.reserved);
    EXPECT_EQ(ours.fat_size, theirs.fat_size);
  }
  EXPECT_EQ(ours.sectors_per_track, theirs.sectors_per_track);
  EXPECT_EQ(ours.heads, theirs.heads);
}

INSTANTIATE_TEST_SUITE_P(Sizes, Fat32Oracle,
                         ::testing::Values(Case{40 * MiB, 512, "MOS40"}, Case{100 * MiB, 512, "MOSEFI"},
                                           Case{260 * MiB, 512, "EDGE260"}, Case{2 * GiB, 512, "TWO GIB"},
                                           Case{32 * GiB, 512, "THIRTYTWO"}, Case{1 * GiB, 4096, "FOURK"},
                                           Case{2048 * GiB - 512, 512, "LARGEST512"}),
                         [](const auto& info) {
                           return std::to_string(info.param.size / MiB) + "MiB_" + std::to_string(info.param.sector);
                         });

// Bad input: the precise error, and not one byte of the device changed.
void expect_refused_untouched(uint64_t size, uint32_t sector, const std::string& label, const std::string& want) {
  LoopImage img(size, sector);
  auto before = fill_random(img.dev(), MiB);
  SandboxResult r = make_fat32(img.dev(), label);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find(want), std::string::npos) << r.text;
  EXPECT_TRUE(read_device(img.dev(), 0, MiB) == before) << "device changed despite the error";
  EXPECT_TRUE(blkid_probe(img.dev()).empty());
}

TEST(Fat32BadInput, TooSmallTooLargeBadLabelLeaveDeviceUntouched) {
  MOS_REQUIRE_ROOT();
  expect_refused_untouched(32 * MiB, 512, "SMALL", "the smallest FAT32 volume at 512-byte sectors needs a device of 34095104 bytes");
  expect_refused_untouched(40 * MiB, 4096, "SMALL4K", "at 4096-byte sectors needs a device of");
  expect_refused_untouched(2048 * GiB, 512, "HUGE", "the largest FAT32 device at 512-byte sectors is 2199023255040 bytes");
  expect_refused_untouched(100 * MiB, 512, "TOOLONGLABEL", "at most 11");
  expect_refused_untouched(100 * MiB, 512, "mosefi", "use 'MOSEFI'");
  expect_refused_untouched(100 * MiB, 512, "A/B", "'/'");
}

}  // namespace
}  // namespace mos::test
