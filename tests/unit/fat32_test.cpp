#include <gtest/gtest.h>

#include "fsmake/fat32.hpp"
#include "fsmake/readers/fat32_read.hpp"
#include "base/bytes.hpp"
#include "base/error.hpp"
#include "tests/support/error_text.hpp"
#include "tests/support/plan_image.hpp"

namespace mos::fsmake::fat32 {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

VolumeInfo round_trip(const mos::WritePlan& plan) {
  test::PlanImage img(plan);
  return read_volume([&](uint64_t off, void* buf, size_t len) { img.read(off, buf, len); });
}

TEST(Fat32Layout, MicrosoftDefaultClusterSizes) {
  // fatgen103's FAT32 table: <=260 MiB 512 B, <=8 GiB 4 KiB, <=16 GiB 8 KiB, <=32 GiB 16 KiB, else 32 KiB.
  struct Case { uint64_t size; uint32_t cluster; } cases[] = {
      {40 * MiB, 512},  {100 * MiB, 512},       {260 * MiB, 512},    {260 * MiB + 512, 4096},
      {2 * GiB, 4096},  {8 * GiB, 4096},        {8 * GiB + 512, 8192}, {16 * GiB, 8192},
      {32 * GiB, 16384}, {32 * GiB + 512, 32768}, {1024 * GiB, 32768}};
  for (auto c : cases) {
    Layout l = compute_layout(c.size, 512);
    EXPECT_EQ(l.cluster_bytes(), c.cluster) << c.size;
    EXPECT_EQ(l.reserved_sectors, 32u);
    EXPECT_EQ(l.fat_count, 2u);
    EXPECT_EQ(l.data_offset() % l.cluster_bytes(), 0u) << "data area not cluster-aligned at " << c.size;
    EXPECT_GE(uint64_t{l.fat_sectors} * 512 / 4, uint64_t{l.cluster_count} + 2);
    EXPECT_LE(uint64_t{l.total_sectors} * 512, c.size);
    EXPECT_EQ(l.total_sectors % l.sectors_per_track, 0u);
  }
  // On 4096-byte sectors a cluster is never smaller than a sector.
  EXPECT_EQ(compute_layout(260 * MiB, 4096).cluster_bytes(), 4096u);
  EXPECT_EQ(compute_layout(32 * GiB, 4096).cluster_bytes(), 16384u);
}

TEST(Fat32Layout, FatIsSmallestThatMapsEveryCluster) {
  for (uint64_t size : {40 * MiB, 100 * MiB + 12345, 2 * GiB, 33 * GiB}) {
    Layout l = compute_layout(size, 512);
    uint32_t step = l.sectors_per_cluster >= 2 ? l.sectors_per_cluster / 2 : 1;
    // One alignment step less leaves room for more clusters than the smaller FAT can map.
    uint64_t smaller = l.fat_sectors - step;
    uint64_t clusters = (l.total_sectors - 32 - 2 * smaller) / l.sectors_per_cluster;
    EXPECT_LT(smaller * 512 / 4, clusters + 2) << size;
  }
}

TEST(Fat32Layout, SmallestAndLargestSizesAreExactAndNamed) {
  for (uint32_t ss : {512u, 4096u}) {
    std::string msg = test::validation_error_of([&] { compute_layout(1 * MiB, ss); });
    EXPECT_NE(msg.find("at least 65525 clusters"), std::string::npos) << msg;
    // The size the message names is exactly the smallest that works.
    auto pos = msg.find("needs a device of ");
    ASSERT_NE(pos, std::string::npos) << msg;
    uint64_t min = std::stoull(msg.substr(pos + 18));
    EXPECT_GE(compute_layout(min, ss).cluster_count, 65525u);
    EXPECT_NE(test::validation_error_of([&] { compute_layout(min - ss, ss); }).find("at least 65525"), std::string::npos);
  }
  EXPECT_NE(test::validation_error_of([] { compute_layout(40 * MiB, 4096); }).find("4096-byte sectors"), std::string::npos);

  std::string big = test::validation_error_of([] { compute_layout(2048 * GiB, 512); });
  EXPECT_NE(big.find("32 bits"), std::string::npos) << big;
  EXPECT_NE(big.find("2199023255040"), std::string::npos) << big;  // (2^32 - 1) * 512
  EXPECT_NO_THROW(compute_layout(2048 * GiB - 512, 512));

  std::string big4k = test::validation_error_of([] { compute_layout(16384 * GiB, 4096); });
  EXPECT_NE(big4k.find("268435445 clusters"), std::string::npos) << big4k;
  auto pos = big4k.find(" is ");
  uint64_t max = std::stoull(big4k.substr(pos + 4));
  EXPECT_LE(compute_layout(max, 4096).cluster_count, 0x0FFFFFF5u);
  EXPECT_NE(test::validation_error_of([&] { compute_layout(max + 4096 * 64, 4096); }).find("268435445"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { compute_layout(1 * GiB, 520); }).find("512, 1024, 2048 or 4096"), std::string::npos);
}

TEST(Fat32Label, RejectsWhatFatForbids) {
  EXPECT_NO_THROW(validate_label(""));
  EXPECT_NO_THROW(validate_label("MOSEFI"));
  EXPECT_NO_THROW(validate_label("A B_C-D~1!#"));
  EXPECT_NE(test::validation_error_of([] { validate_label("TWELVE_CHARS"); }).find("at most 11"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { validate_label("mosefi"); }).find("use 'MOSEFI'"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { validate_label(" LEAD"); }).find("start with a space"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { validate_label("A\tB"); }).find("control character at position 2"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { validate_label("CAF\xc3\x89"); }).find("non-ASCII"), std::string::npos);
  for (char c : std::string("\"*+,./:;<=>?[\\]|"))
    EXPECT_NE(test::validation_error_of([&] { validate_label(std::string("A") + c); }).find("not allowed in FAT names"),
              std::string::npos) << c;
  // plan_mkfs validates before anything else.
  EXPECT_NE(test::validation_error_of([] { plan_mkfs({"BAD.LABEL", {}}, 100 * MiB, 512); }).find("'.'"), std::string::npos);
}

TEST(Fat32Plan, RoundTripsThroughTheReader) {
  struct Case { uint64_t size; uint32_t ss; } cases[] = {
      {40 * MiB, 512}, {100 * MiB, 512}, {260 * MiB, 512}, {2 * GiB, 512}, {32 * GiB, 512},
      {512 * MiB, 4096}, {2 * GiB, 4096}, {1000 * GiB + 7, 512}};
  for (auto c : cases) {
    auto plan = plan_mkfs({"MOSEFI", 0x1234ABCD, 2048}, c.size, c.ss);
    VolumeInfo v = round_trip(plan);
    Layout want = compute_layout(c.size, c.ss);
    EXPECT_EQ(v.layout.sector_size, c.ss);
    EXPECT_EQ(v.layout.sectors_per_cluster, want.sectors_per_cluster);
    EXPECT_EQ(v.layout.fat_sectors, want.fat_sectors);
    EXPECT_EQ(v.layout.total_sectors, want.total_sectors);
    EXPECT_EQ(v.layout.cluster_count, want.cluster_count);
    EXPECT_EQ(v.volume_id, 0x1234ABCDu);
    EXPECT_EQ(v.boot_label, "MOSEFI");
    EXPECT_EQ(v.root_label, std::optional<std::string>("MOSEFI"));
    EXPECT_EQ(v.hidden_sectors, 2048u);
    EXPECT_EQ(v.root_cluster, 2u);
    EXPECT_EQ(v.free_count, want.cluster_count - 1);
    EXPECT_EQ(v.next_free, 2u);
  }
}

TEST(Fat32Plan, BootSectorBytesFollowTheSpec) {
  for (uint32_t ss : {512u, 4096u}) {
    auto plan = plan_mkfs({"", 0xCAFEF00D}, 1 * GiB, ss);
    test::PlanImage img(plan);
    auto boot = img.read(0, ss);
    EXPECT_EQ(boot[0], 0xEB);
    EXPECT_EQ(boot[2], 0x90);
    EXPECT_EQ(boot[510], 0x55);
    EXPECT_EQ(boot[511], 0xAA);
    EXPECT_EQ(boot[ss - 2], 0x55);
    EXPECT_EQ(boot[ss - 1], 0xAA);
    EXPECT_EQ(load_le16(&boot[11]), ss);
    EXPECT_EQ(boot[21], 0xF8);                         // media
    EXPECT_EQ(load_le16(&boot[14]), 32);               // reserved sectors
    EXPECT_EQ(boot[16], 2);                            // FATs
    EXPECT_EQ(load_le16(&boot[48]), 1);                // FSInfo
    EXPECT_EQ(load_le16(&boot[50]), 6);                // backup boot
    EXPECT_EQ(boot[66], 0x29);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(&boot[71]), 11), "NO NAME    ");
    EXPECT_EQ(std::string(reinterpret_cast<char*>(&boot[82]), 8), "FAT32   ");
    EXPECT_EQ(img.read(6 * uint64_t{ss}, ss), boot);
    Layout l = compute_layout(1 * GiB, ss);
    auto fat = img.read(l.fat_offset(0), 12);
    EXPECT_EQ(load_le32(&fat[0]), 0x0FFFFFF8u);
    EXPECT_EQ(load_le32(&fat[4]), 0x0FFFFFFFu);
    EXPECT_EQ(load_le32(&fat[8]), 0x0FFFFFFFu);
    EXPECT_EQ(img.read(l.fat_offset(1), 12), fat);
    // No label: the root directory stays empty.
    EXPECT_EQ(img.read(l.cluster_offset(2), 32), std::vector<uint8_t>(32, 0));
    auto v = round_trip(plan);
    EXPECT_EQ(v.boot_label, "NO NAME");
    EXPECT_FALSE(v.root_label);
    EXPECT_EQ(volume_id_string(v.volume_id), "CAFE-F00D");
  }
}

TEST(Fat32Plan, BulkZeroAndFewSectorWritesInCrashSafeOrder) {
  auto plan = plan_mkfs({"X", 1}, 32 * GiB, 512);
  ASSERT_EQ(plan.steps.size(), 5u);
  EXPECT_EQ(plan.steps[0].name, "zero-metadata");
  ASSERT_EQ(plan.steps[0].zeroes.size(), 1u);
  Layout l = compute_layout(32 * GiB, 512);
  EXPECT_EQ(plan.steps[0].zeroes[0].offset, 0u);
  EXPECT_EQ(plan.steps[0].zeroes[0].length, l.cluster_offset(2) + l.cluster_bytes());
  EXPECT_EQ(plan.steps.back().name, "boot");  // the primary boot sector lands last
  EXPECT_EQ(plan.steps.back().writes.at(0).offset, 0u);
  // ... alone: a write that also carried the FSInfo could be torn after the boot sector.
  ASSERT_EQ(plan.steps.back().writes.size(), 1u);
  EXPECT_EQ(plan.steps.back().writes[0].data.size(), 512u);
  EXPECT_LE(plan.bytes_written(), 8u * 512);
  for (auto& s : plan.steps)
    for (auto& w : s.writes) {
      EXPECT_EQ(w.offset % 512, 0u);
      EXPECT_EQ(w.data.size() % 512, 0u);
    }
}

TEST(Fat32Read, DetectsCorruption) {
  auto plan = plan_mkfs({"OK", 7}, 100 * MiB, 512);
  Layout l = compute_layout(100 * MiB, 512);
  auto corrupt = [&](std::vector<uint64_t> where, uint8_t value) {
    test::PlanImage img(plan);
    return test::validation_error_of([&] {
      read_volume([&](uint64_t off, void* buf, size_t len) {
        img.read(off, buf, len);
        for (uint64_t at : where)
          if (at >= off && at < off + len) static_cast<uint8_t*>(buf)[at - off] = value;
      });
    });
  };
  EXPECT_NE(corrupt({6 * 512 + 67}, 0x99).find("backup boot sector"), std::string::npos);
  EXPECT_NE(corrupt({l.fat_offset(1) + 8}, 0).find("FAT #2 differs"), std::string::npos);
  EXPECT_NE(corrupt({512 + 484}, 0).find("FSInfo"), std::string::npos);
  EXPECT_NE(corrupt({510}, 0).find("0x55AA"), std::string::npos);
  EXPECT_NE(corrupt({l.fat_offset(0) + 8, l.fat_offset(1) + 8}, 0).find("root directory cluster chain"), std::string::npos);
}

}  // namespace
}  // namespace mos::fsmake::fat32
