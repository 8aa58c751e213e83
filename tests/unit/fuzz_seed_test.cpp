// The prober's fuzz seeds are what their names say: each committed seed-<format> input, turned
// into a device by the fuzz harness's sparse-image format, is recognised as that format. So the
// seeds really lead the fuzzer into every prober's deep paths, and the input format round-trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include "fsmake/probe/probe.hpp"
#include "tests/fuzz/fuzz_image.hpp"

namespace mos::fuzz {
namespace {

std::string probed(const std::vector<uint8_t>& input) {
  SparseImage img;
  if (!parse_sparse_image(input.data(), input.size(), img)) return "<short>";
  io::Fd fd = memfd_image(img);
  auto r = fsmake::probe_device(fd, img.size, img.sector_size);
  return r.type.empty() ? "pt:" + r.pttype : r.type;
}

TEST(FuzzSeeds, ProbeSeedsAreWhatTheirNamesSay) {
  const std::map<std::string, std::string> expected = {
      {"ext2", "ext2"}, {"ext3", "ext3"}, {"ext4", "ext4"}, {"vfat12", "vfat"}, {"vfat16", "vfat"},
      {"vfat32", "vfat"}, {"swap", "swap"}, {"btrfs", "btrfs"}, {"xfs", "xfs"}, {"gpt", "pt:gpt"},
      {"dos", "pt:dos"}, {"squashfs", "squashfs"}, {"iso9660", "iso9660"},
      {"md12", "linux_raid_member"}, {"md090", "linux_raid_member"},
      {"md12_bitmap", "linux_raid_member"}, {"md090_bitmap", "linux_raid_member"},
      {"ntfs", "ntfs"}, {"exfat", "exfat"}, {"f2fs", "f2fs"}, {"udf", "udf"}, {"nilfs2", "nilfs2"},
      {"jfs", "jfs"}, {"reiserfs", "reiserfs"}, {"bcache", "bcache"},
      // primaries gone, copies kept: the copy paths name them (with damaged set)
      {"btrfs_mirror_only", "btrfs"}, {"ext4_backup_only", "ext4"}, {"vfat32_backup_only", "vfat"},
      {"gpt_backup_header_only", "pt:gpt"}};
  auto dir = std::filesystem::path(MOS_FUZZ_CORPUS_DIR) / "probe";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  size_t checked = 0;
  for (const auto& [name, type] : expected) {
    std::ifstream f(dir / ("seed-" + name), std::ios::binary);
    ASSERT_TRUE(f) << "missing seed-" << name;
    std::vector<uint8_t> input((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(probed(input), type) << "seed-" << name;
    ++checked;
  }
  EXPECT_EQ(checked, expected.size());
}

}  // namespace
}  // namespace mos::fuzz
