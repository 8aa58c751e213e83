// classify_content and the erased-table scan over image files: blank, ours, damaged (a primary
// gone while its copy holds), foreign, bytes no prober names at a btrfs mirror and at ext4
// backup places, an unreadable range; and filesystems left where partitions started after the
// partition table was zeroed.
#include <gtest/gtest.h>
#include <fcntl.h>

#include <chrono>
#include <string>

#include "engine/content_state.hpp"
#include "engine/erased_table.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/damage.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

struct Image {
  TempDir dir;
  std::string path = dir / "img";
  uint64_t size;
  explicit Image(uint64_t size_mib, const std::string& make = {}) : size(size_mib * MiB) {
    EXPECT_TRUE(run_sh("truncate -s " + std::to_string(size) + " " + path).ok());
    if (!make.empty()) {
      auto r = run_sh("IMG=" + path + "; " + make);
      EXPECT_TRUE(r.ok()) << make << ": " << r.err;
    }
  }
  engine::ContentVerdict classify(std::string_view fstype, std::string_view label, uint64_t claimed_size = 0) const {
    io::Fd fd = io::Fd::open(path, O_RDONLY);
    fsmake::ProbeSource src(fd, claimed_size ? claimed_size : size, 512);
    return engine::classify_content(src, fstype, label);
  }
};

TEST(ClassifyContent, BlankIsNeverWritten) {
  Image img(600);
  auto v = img.classify("btrfs", "MOSDATA");
  EXPECT_EQ(v.state, engine::ContentState::never_written) << v.reason;
  EXPECT_EQ(v.reason, "");
  EXPECT_EQ(v.repair, "");
}

TEST(ClassifyContent, TheExpectedHealthyFilesystemIsOurs) {
  Image img(300, "mkfs.btrfs -q -f -L MOSDATA $IMG");
  auto v = img.classify("btrfs", "MOSDATA");
  EXPECT_EQ(v.state, engine::ContentState::ours) << v.reason;
  EXPECT_EQ(v.fstype, "btrfs");
  EXPECT_EQ(v.label, "MOSDATA");
}

TEST(ClassifyContent, APrimaryGoneWhileItsMirrorHoldsIsDamagedWithItsRepair) {
  Image img(300, "mkfs.btrfs -q -f -L MOSDATA $IMG");
  zero_range(img.path, 0, MiB);
  auto v = img.classify("btrfs", "MOSDATA");
  EXPECT_EQ(v.state, engine::ContentState::damaged);
  EXPECT_EQ(v.fstype, "btrfs");
  EXPECT_EQ(v.label, "MOSDATA");
  EXPECT_NE(v.reason.find("copy at 67108864 (btrfs mirror 1"), std::string::npos) << v.reason;
  EXPECT_EQ(v.repair, "mos-volmgr repair-superblock " + img.path);
}

TEST(ClassifyContent, AnotherFilesystemIsDamaged) {
  Image img(300, "mkfs.ext4 -q -F -L MOSBOOT $IMG");
  auto v = img.classify("btrfs", "MOSDATA");
  EXPECT_EQ(v.state, engine::ContentState::damaged);
  EXPECT_NE(v.reason.find("an ext4 filesystem (LABEL=MOSBOOT) where btrfs MOSDATA was expected"), std::string::npos)
      << v.reason;
  EXPECT_EQ(v.repair, "");
  // The right type with another label is not ours either.
  EXPECT_EQ(img.classify("ext4", "OTHER").state, engine::ContentState::damaged);
}

// Bytes where no primary lives but a copy would: a btrfs mirror, an ext4 backup place of 4 KiB
// and of 1 KiB blocks. The first and last MiB are zero, as before this rule existed.
TEST(ClassifyContent, NonZeroBytesAtACopyPlaceAreNotBlank) {
  for (uint64_t at : {64 * MiB + 100, 128 * MiB + 16, 8 * MiB + 1024 + 8}) {
    Image img(600);
    overwrite(img.path, at, "SOMEONES");
    auto v = img.classify("btrfs", "MOSDATA");
    EXPECT_EQ(v.state, engine::ContentState::damaged) << at;
    EXPECT_NE(v.reason.find("offset " + std::to_string(at)), std::string::npos) << v.reason;
    io::Fd fd = io::Fd::open(img.path, O_RDONLY);
    fsmake::ProbeSource src(fd, img.size, 512);
    EXPECT_EQ(engine::first_unnamed_nonzero(src), at);
  }
}

// A range that cannot be read (here: past the end of the file the source was told is larger)
// is never blank.
TEST(ClassifyContent, AnUnreadablePlaceIsDamaged) {
  Image img(300);
  auto v = img.classify("btrfs", "MOSDATA", 400 * MiB);
  EXPECT_EQ(v.state, engine::ContentState::damaged);
  EXPECT_NE(v.reason.find("cannot read"), std::string::npos) << v.reason;
}

// Filesystems made apart and copied where partitions started, nothing in the first or last MiB:
// what `sgdisk --zap-all` leaves.
TEST(ErasedTable, FilesystemsWherePartitionsStartedAreFound) {
  Image img(3 * 1024);
  Image ext4(64, "mkfs.ext4 -q -F -L MOSBOOT $IMG");
  ASSERT_TRUE(run_sh("dd if=" + ext4.path + " of=" + img.path + " bs=1M seek=1500 conv=notrunc,sparse status=none").ok());
  io::Fd fd = io::Fd::open(img.path, O_RDONLY);
  auto found = engine::find_erased_partitions(fd, img.size, 512, {});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->start, 1500 * MiB);
  EXPECT_EQ(found->at, 1500 * MiB + 1024 + 0x38);
  EXPECT_NE(found->message().find("holds an ext4 filesystem (LABEL=MOSBOOT) at 1572864000"), std::string::npos)
      << found->message();
  // Past the scan's bound only the starts given are looked at.
  Image far(3 * 1024);
  ASSERT_TRUE(run_sh("dd if=" + ext4.path + " of=" + far.path + " bs=1M seek=2500 conv=notrunc,sparse status=none").ok());
  io::Fd far_fd = io::Fd::open(far.path, O_RDONLY);
  EXPECT_FALSE(engine::find_erased_partitions(far_fd, far.size, 512, {}));
  const uint64_t start = 2500 * MiB;
  auto given = engine::find_erased_partitions(far_fd, far.size, 512, std::span<const uint64_t>(&start, 1));
  ASSERT_TRUE(given);
  EXPECT_EQ(given->start, start);
}

TEST(ErasedTable, BlankFindsNothingAndUnnamedDataIsNamedByItsOffset) {
  Image img(3 * 1024);
  io::Fd fd = io::Fd::open(img.path, O_RDONLY);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(engine::find_erased_partitions(fd, img.size, 512, {}));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("erased-table scan of a blank 3 GiB sparse file: %.1f ms\n", ms);
  overwrite(img.path, 700 * MiB + 65536 + 20, "SOMEONES");
  auto found = engine::find_erased_partitions(fd, img.size, 512, {});
  ASSERT_TRUE(found);
  EXPECT_EQ(found->what, "");
  EXPECT_EQ(found->at, 700 * MiB + 65536 + 20);
}

}  // namespace
}  // namespace mos::test
