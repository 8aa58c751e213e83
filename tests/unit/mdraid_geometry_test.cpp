// Geometry rules for new RAID1 arrays. Expected numbers are worked out by hand from mdadm
// 4.2's rules (super1.c validate_geometry1/choose_bm_space/add_internal_bitmap1/
// write_init_super1, super0.c, Create.c), written out in each comment, not taken from our code.
#include <gtest/gtest.h>

#include <vector>

#include "base/error.hpp"
#include "mdraid/superblock.hpp"

namespace mos::mdraid {
namespace {

constexpr uint64_t MiB = 1024 * 1024, GiB = 1024 * MiB, TiB = 1024 * GiB;

TEST(MdGeometry, V12OneGiB) {
  // 2097152 sectors: headroom halves from 262144 to 2048 (2048 << 10 == size, not above);
  // bitmap reserve 8; 24 + 8 + 2048 = 2080 -> rounded up to 1 MiB = 4096 sectors.
  std::vector<uint64_t> sizes{GiB, GiB};
  auto g = plan_geometry(Metadata::v1_2, sizes);
  EXPECT_EQ(g.data_offset_sectors, 4096u);
  EXPECT_EQ(g.data_size_sectors, (std::vector<uint64_t>{2093056, 2093056}));
  EXPECT_EQ(g.component_sectors, 2093056u);  // 1046528 KiB, already a multiple of 64
  EXPECT_EQ(g.array_size_bytes, 2093056u * 512);
  EXPECT_EQ(g.superblock_offsets, (std::vector<uint64_t>{4096, 4096}));
  EXPECT_EQ(g.bblog_offset_sectors, 16u);  // after the 8-sector superblock slot + 8 reserve
  EXPECT_EQ(g.bblog_size_sectors, 8u);
  EXPECT_FALSE(g.bitmap);
}

TEST(MdGeometry, V12SmallMember) {
  // 100 MiB = 204800 sectors: headroom 128 (128 << 10 = 131072 <= 204800); 24+8+128 = 160
  // -> 2048 sectors. Component (204800-2048)/2 = 101376 KiB (64-aligned).
  std::vector<uint64_t> sizes{100 * MiB};
  auto g = plan_geometry(Metadata::v1_2, sizes);
  EXPECT_EQ(g.data_offset_sectors, 2048u);
  EXPECT_EQ(g.component_sectors, 101376u * 2);
}

TEST(MdGeometry, V12TwentyGiBUsesLargerReserves) {
  // 41943040 sectors: headroom 32768; reserve 128 (above 8 GiB); 24+128+32768 = 32920 ->
  // 34816. Component 20954112 KiB. Log after 8 + 128 reserve = 136.
  std::vector<uint64_t> sizes{20 * GiB, 20 * GiB};
  auto g = plan_geometry(Metadata::v1_2, sizes);
  EXPECT_EQ(g.data_offset_sectors, 34816u);
  EXPECT_EQ(g.component_sectors, 20954112u * 2);
  EXPECT_EQ(g.bblog_offset_sectors, 136u);
  EXPECT_FALSE(g.bitmap);  // 20 GiB is below mdadm's 100 GiB automatic bitmap
}

TEST(MdGeometry, V12OneTiBGetsAutomaticBitmap) {
  // 2^31 sectors: headroom 262144 (128 MiB cap); reserve 256; 24+256+262144 -> 264192.
  // Component (2147483648-264192)/2 = 1073609728 KiB > 100 GiB -> bitmap. Bitmap room 256
  // sectors; 4 KiB chunks need 268402433 bits > (131072-256)*8, doubling reaches 2 MiB,
  // then the 64 MiB floor. Bits = ceil(2147219456*512 / 64 MiB) = 16382 -> 2304 bytes -> 4 KiB.
  std::vector<uint64_t> sizes{TiB, TiB};
  auto g = plan_geometry(Metadata::v1_2, sizes);
  EXPECT_EQ(g.data_offset_sectors, 264192u);
  EXPECT_EQ(g.component_sectors, 1073609728ull * 2);
  ASSERT_TRUE(g.bitmap);
  EXPECT_EQ(g.bitmap->chunk_bytes, 64u * MiB);
  EXPECT_EQ(g.bitmap->offset_sectors, 8);
  EXPECT_EQ(g.bitmap->bits(), 16382u);
  EXPECT_EQ(g.bitmap->space_bytes, 4096u);
  EXPECT_EQ(g.bitmap->sync_size_sectors, 1073609728ull * 2);
  EXPECT_EQ(g.bblog_offset_sectors, 16u);  // right after the 8-sector bitmap
}

TEST(MdGeometry, BitmapCanBeForcedOffOrOn) {
  std::vector<uint64_t> big{TiB}, small{GiB};
  EXPECT_FALSE(plan_geometry(Metadata::v1_2, big, false).bitmap);
  auto g = plan_geometry(Metadata::v1_2, small, true);
  ASSERT_TRUE(g.bitmap);
  EXPECT_EQ(g.bitmap->chunk_bytes, 64u * MiB);  // floor: 1 GiB needs only 4 KiB chunks to fit
  EXPECT_EQ(g.bitmap->bits(), 16u);             // 2093056 sectors / 131072 per chunk, rounded up
}

TEST(MdGeometry, V12UnequalMembersUseFirstOffsetAndSmallestRoom) {
  // Offset from the first member (2 GiB: headroom 4096, 24+8+4096 -> 6144), size from the
  // smaller: (2097152 - 6144) / 2 = 1045504 KiB, a multiple of 64.
  std::vector<uint64_t> sizes{2 * GiB, GiB};
  auto g = plan_geometry(Metadata::v1_2, sizes);
  EXPECT_EQ(g.data_offset_sectors, 6144u);
  EXPECT_EQ(g.component_sectors, 1045504u * 2);
  EXPECT_EQ(g.data_size_sectors, (std::vector<uint64_t>{4194304 - 6144, 2097152 - 6144}));
}

TEST(MdGeometry, V090SuperblockAtLastAlignedBlock) {
  // 1 GiB + 100 KiB rounds down to 1 GiB + 64 KiB; the superblock sits 64 KiB below.
  EXPECT_EQ(superblock_offset(Metadata::v0_90, GiB + 100 * 1024), GiB);
  EXPECT_EQ(superblock_offset(Metadata::v0_90, GiB), GiB - 64 * 1024);
  EXPECT_EQ(superblock_offset(Metadata::v1_2, GiB), 4096u);
  std::vector<uint64_t> sizes{GiB, GiB + 100 * 1024};
  auto g = plan_geometry(Metadata::v0_90, sizes);
  EXPECT_EQ(g.data_offset_sectors, 0u);
  EXPECT_EQ(g.superblock_offsets, (std::vector<uint64_t>{GiB - 64 * 1024, GiB}));
  EXPECT_EQ(g.component_sectors, (GiB - 64 * 1024) / 512);  // 1048512 KiB, 64-aligned
  EXPECT_EQ(g.data_size_sectors[1], GiB / 512);
}

TEST(MdGeometry, V090Bitmap) {
  // 60 KiB room after the superblock; 1 GiB at 4 KiB chunks = 262129 bits fits 489472 bits;
  // chunk floor 64 MiB -> 16 bits.
  std::vector<uint64_t> sizes{GiB};
  auto g = plan_geometry(Metadata::v0_90, sizes, true);
  ASSERT_TRUE(g.bitmap);
  EXPECT_EQ(g.bitmap->offset_sectors, 8);
  EXPECT_EQ(g.bitmap->space_bytes, 60u * 1024);
  EXPECT_EQ(g.bitmap->chunk_bytes, 64u * MiB);
  EXPECT_EQ(g.bitmap->bits(), 16u);
}

TEST(MdGeometry, TooSmallMembersAreRefused) {
  std::vector<uint64_t> tiny{64 * 1024};
  EXPECT_THROW(plan_geometry(Metadata::v0_90, tiny), Error);
  std::vector<uint64_t> small{512 * 1024};
  EXPECT_THROW(plan_geometry(Metadata::v1_2, small), Error);  // data would start at 1 MiB
  std::vector<uint64_t> none;
  EXPECT_THROW(plan_geometry(Metadata::v1_2, none), Error);
  std::vector<uint64_t> huge{5 * TiB};
  EXPECT_THROW(plan_geometry(Metadata::v0_90, huge), Error);  // 0.90 stores KiB in 32 bits
}

TEST(MdGeometry, SectorSizeChecks) {
  ArraySpec spec;
  std::vector<MemberSpec> m(2);
  m[0].size_bytes = m[1].size_bytes = GiB + 512;
  m[0].logical_sector_size = m[1].logical_sector_size = 4096;
  EXPECT_THROW(plan_geometry(spec, m), Error);
  m[0].size_bytes = m[1].size_bytes = GiB;
  auto g = plan_geometry(spec, m);
  EXPECT_EQ(g.data_offset_sectors % 8, 0u);  // 4 KiB-aligned for 4096-byte sectors
  EXPECT_EQ(g.component_sectors % 8, 0u);
}

TEST(MdGeometry, MetadataText) {
  EXPECT_EQ(metadata_text(Metadata::v0_90), "0.90");
  EXPECT_EQ(metadata_text(Metadata::v1_2), "1.2");
  EXPECT_EQ(parse_metadata("0.90"), Metadata::v0_90);
  EXPECT_EQ(parse_metadata("1.2"), Metadata::v1_2);
  EXPECT_THROW(parse_metadata("1.0"), Error);
  EXPECT_THROW(parse_metadata(""), Error);
}

}  // namespace
}  // namespace mos::mdraid
