// fsmake/ext4 without root: geometry against numbers read from real mkfs.ext4 1.47.0 output
// (dumpe2fs -h), plan round trips through image files judged by our reader/validator, and
// bad input. The kernel and e2fsck judge the same plans in tests/integration/ext4_test.cpp.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <set>

#include "engine/apply_plan.hpp"
#include "fsmake/ext4.hpp"
#include "fsmake/readers/ext4_read.hpp"
#include "fsmake/ext4_internal.hpp"
#include "fsmake/ext4_layout.hpp"
#include "fsmake/ext4_structs.hpp"
#include "base/error.hpp"

namespace mos::fsmake::ext4 {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30, TiB = 1ull << 40;

struct Mke2fsFacts {  // dumpe2fs -h of `mkfs.ext4 -F img` (mke2fs 1.47.0, stock mke2fs.conf)
  uint64_t device;
  uint32_t sector;
  uint64_t blocks;
  uint32_t inodes, block_size, ipg, rsv_gdt, journal_blocks, overhead;
  uint64_t free_blocks;
};

TEST(Ext4Geometry, MatchesMke2fs) {
  const Mke2fsFacts facts[] = {
      {8 * MiB, 512, 8192, 2048, 1024, 2048, 63, 1024, 1604, 6574},
      {64 * MiB, 512, 65536, 16384, 1024, 2048, 256, 4096, 9499, 56023},
      {1 * GiB, 512, 262144, 65536, 4096, 8192, 127, 8192, 12949, 249189},
      {16 * GiB, 512, 4194304, 1048576, 4096, 8192, 1024, 32768, 109857, 4084441},
      {2 * TiB, 512, 536870912, 134217728, 4096, 8192, 1024, 262144, 8709140, 528161765},
  };
  for (const auto& f : facts) {
    SCOPED_TRACE(f.device);
    Geometry g = compute_geometry(f.device, f.sector, 0);
    EXPECT_EQ(g.blocks_count, f.blocks);
    EXPECT_EQ(g.inodes_count, f.inodes);
    EXPECT_EQ(g.block_size, f.block_size);
    EXPECT_EQ(g.inodes_per_group, f.ipg);
    EXPECT_EQ(g.reserved_gdt_blocks, f.rsv_gdt);
    EXPECT_EQ(g.journal_blocks, f.journal_blocks);
    Layout L = compute_layout(g);
    EXPECT_EQ(L.overhead_clusters, f.overhead);
  }
}

TEST(Ext4Geometry, SparseSuperGroups) {
  std::vector<uint32_t> with_super;
  for (uint32_t g = 0; g < 130; ++g)
    if (group_has_super(g)) with_super.push_back(g);
  EXPECT_EQ(with_super, (std::vector<uint32_t>{0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125}));
}

TEST(Ext4Geometry, SixteenTebibytesDropsResizeInodeLikeMke2fs) {
  // mke2fs clears resize_inode above 2^32 - 1 blocks (res_gdt.c stores 32-bit block numbers).
  Geometry g = compute_geometry(16 * TiB, 512, 0);
  EXPECT_EQ(g.blocks_count, 1ull << 32);
  EXPECT_FALSE(g.resize_inode);
  EXPECT_EQ(g.reserved_gdt_blocks, 0u);
  EXPECT_EQ(g.inodes_count, 268435456u);  // "huge" class: one inode per 64 KiB
}

TEST(Ext4Plan, SixteenTebibytePlanStaysSparse) {
  mos::WritePlan plan = plan_mkfs({}, 16 * TiB, 4096);
  // Descriptors (8 MiB) times 25 superblock groups dominate; no per-group bitmaps or tables.
  EXPECT_LT(plan.bytes_written(), 300 * MiB);
  EXPECT_LT(plan.bytes_zeroed(), 1 * MiB);
  size_t writes = 0;
  for (auto& s : plan.steps) writes += s.writes.size();
  EXPECT_LT(writes, 10000u);
  // Memory: the 25 descriptor-table copies share one buffer, so the plan holds far less than
  // it writes.
  std::set<const void*> seen;
  uint64_t held = 0;
  for (auto& s : plan.steps)
    for (auto& w : s.writes)
      if (seen.insert(w.data.buffer().get()).second) held += w.data.buffer()->size();
  EXPECT_LT(held, 64 * MiB);
  EXPECT_GT(plan.bytes_written(), 200 * MiB);
}

// Small pieces merge with zero-filled gaps; a piece larger than the gap goes out as it is, its
// buffer still shared, and the gaps beside it are written by its small neighbours.
TEST(Ext4ChunkList, LargePiecesStayShared) {
  constexpr uint64_t gap = 4096;
  auto big = std::make_shared<const std::vector<uint8_t>>(3 * gap, 0xAB);
  ChunkList list;
  list.add(5000, big, "big");
  list.add(1000, std::vector<uint8_t>(10, 0x11), "small before");
  list.add(5000 + 3 * gap + 1000, std::vector<uint8_t>(20, 0x22), "small after");
  list.add(3 * 1000 * gap, std::vector<uint8_t>(30, 0x33), "far away");
  mos::PlanStep step;
  list.emit(step, gap);
  ASSERT_EQ(step.writes.size(), 4u);
  EXPECT_EQ(step.writes[0].offset, 1000u);
  EXPECT_EQ(step.writes[0].data.size(), 4000u);  // up to the big piece, zeros after the bytes
  EXPECT_EQ(step.writes[1].data.buffer(), big);  // not copied
  EXPECT_EQ(step.writes[2].offset, 5000 + 3 * gap);
  EXPECT_EQ(step.writes[2].data.size(), 1020u);
  EXPECT_EQ(step.writes[2].data[0], 0);
  EXPECT_EQ(step.writes[2].data[1000], 0x22);
  EXPECT_EQ(step.writes[3].offset, 3 * 1000 * gap);
  EXPECT_EQ(step.writes[3].data.size(), 30u);
}

class TempImage {
 public:
  explicit TempImage(uint64_t size) {
    char tmpl[] = "/var/tmp/mos-ext4-unit-XXXXXX";
    int raw = mkstemp(tmpl);
    if (raw < 0) throw std::runtime_error("mkstemp");
    path_ = tmpl;
    fd_ = io::Fd(raw, path_);
    if (ftruncate(raw, static_cast<off_t>(size)) != 0) throw std::runtime_error("ftruncate");
  }
  ~TempImage() { unlink(path_.c_str()); }
  const io::Fd& fd() const { return fd_; }

 private:
  std::string path_;
  io::Fd fd_;
};

std::array<uint8_t, 16> test_uuid() {
  return {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef, 0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
}

TEST(Ext4Plan, RoundTripsThroughReaderAndValidator) {
  for (uint64_t size : {8 * MiB, 64 * MiB, 1 * GiB + 12345}) {
    for (bool full : {false, true}) {
      SCOPED_TRACE(std::to_string(size) + (full ? " full" : " lazy"));
      TempImage img(size);
      Ext4Options o;
      o.label = "round-trip-16byt";
      o.uuid = test_uuid();
      o.full_init = full;
      engine::apply_plan(img.fd(), plan_mkfs(o, size, 512));
      SuperblockInfo sb = read_superblock(img.fd());
      EXPECT_TRUE(sb.checksum_ok);
      EXPECT_EQ(sb.label, o.label);
      EXPECT_EQ(sb.uuid, *o.uuid);
      EXPECT_EQ(sb.inode_size, 256u);
      EXPECT_EQ(sb.desc_size, 64u);
      EXPECT_EQ(sb.log_groups_per_flex, 4u);
      EXPECT_EQ(sb.journal_inum, 8u);
      EXPECT_TRUE(sb.feature_ro_compat & kRoCompatMetadataCsum);
      EXPECT_TRUE(sb.feature_compat & kCompatResizeInode);
      auto problems = validate(img.fd());
      EXPECT_TRUE(problems.empty()) << problems.front();
    }
  }
}

TEST(Ext4Plan, ValidatorNoticesCorruption) {
  TempImage img(64 * MiB);
  engine::apply_plan(img.fd(), plan_mkfs({}, 64 * MiB, 512));
  ASSERT_TRUE(validate(img.fd()).empty());
  // Flip one byte of group 3's descriptor (GDT at block 2 of a 1 KiB filesystem).
  uint64_t off = 2 * 1024 + 3 * 64 + 12;
  uint8_t b;
  img.fd().pread_exact(&b, 1, off);
  b ^= 0x01;
  img.fd().pwrite_exact(&b, 1, off);
  EXPECT_FALSE(validate(img.fd()).empty());
}

TEST(Ext4Plan, FullInitZeroesInodeTablesAndJournal) {
  Geometry g = compute_geometry(1 * GiB, 512, 0);
  mos::WritePlan lazy = plan_mkfs({}, 1 * GiB, 512);
  Ext4Options o;
  o.full_init = true;
  mos::WritePlan full = plan_mkfs(o, 1 * GiB, 512);
  uint64_t tables = uint64_t{g.group_count} * g.inode_blocks_per_group * g.block_size;
  uint64_t journal = uint64_t{g.journal_blocks} * g.block_size;
  EXPECT_EQ(full.bytes_zeroed() - lazy.bytes_zeroed(), tables + journal);
  // Contiguous ranges are merged: one range for all inode tables of the single flex group.
  EXPECT_LE(full.steps[0].zeroes.size(), 3u);
  // Zero ranges and metadata share the first step: one flush, then descriptors and backups, then
  // the primary superblock.
  ASSERT_EQ(full.steps.size(), 3u);
  EXPECT_EQ(full.steps[0].name, "metadata");
}

TEST(Ext4Plan, FewLargeWrites) {
  mos::WritePlan plan = plan_mkfs({}, 1 * GiB, 512);
  size_t writes = 0;
  for (auto& s : plan.steps) writes += s.writes.size();
  EXPECT_LE(writes, 20u);
  EXPECT_EQ(plan.steps.back().name, "superblock");  // primary superblock is written last
  // ... alone, at byte 1024: merged with group 0's descriptors, a torn write could leave a
  // superblock that probes whole in front of no descriptors.
  ASSERT_EQ(plan.steps.back().writes.size(), 1u);
  EXPECT_EQ(plan.steps.back().writes[0].offset, 1024u);
}

void expect_validation(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Ext4Plan, RejectsBadInput) {
  expect_validation([] { plan_mkfs({}, 8 * MiB - 512, 512); }, "at least 8 MiB");
  expect_validation([] { plan_mkfs({}, 16 * TiB + 4096, 512); }, "at most 16 TiB");
  Ext4Options long_label;
  long_label.label = "seventeen-bytes-x";
  expect_validation([&] { plan_mkfs(long_label, 64 * MiB, 512); }, "at most 16 bytes");
  Ext4Options control;
  control.label = "tab\there";
  expect_validation([&] { plan_mkfs(control, 64 * MiB, 512); }, "control character");
  expect_validation([] { plan_mkfs({}, 64 * MiB, 3000); }, "sector size");
  Ext4Options small_block;
  small_block.block_size = 1024;
  expect_validation([&] { plan_mkfs(small_block, 64 * MiB, 4096); }, "smaller than the device's logical sector");
  Ext4Options nil;
  nil.uuid = std::array<uint8_t, 16>{};
  expect_validation([&] { plan_mkfs(nil, 64 * MiB, 512); }, "nil UUID");
}

}  // namespace
}  // namespace mos::fsmake::ext4
