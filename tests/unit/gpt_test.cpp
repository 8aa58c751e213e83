// GPT format: GUID layout, names, type names, build → serialize → parse round trips, and a
// parser that rejects corrupted tables with precise errors (never crashes).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "base/error.hpp"
#include "engine/partition/partition.hpp"
#include "gpt/build.hpp"
#include "gpt/read.hpp"
#include "gpt/serialize.hpp"
#include "gpt/structs.hpp"
#include "gpt/types.hpp"
#include "gpt/utf16.hpp"
#include "ioctl/fd.hpp"

namespace mos::gpt {
namespace {

constexpr uint64_t MiB = 1 << 20;

// A disk image in a memfd (sparse, so a 64 MiB disk costs only what is written).
struct Image {
  io::Fd fd;
  uint64_t size;
  explicit Image(uint64_t sz) : fd(memfd_create("gpt-test", 0), "memfd"), size(sz) {
    EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(sz)), 0);
  }
  void apply(const mos::WritePlan& plan) {
    for (const auto& s : plan.steps)
      for (const auto& w : s.writes) {
        ASSERT_LE(w.offset + w.data.size(), size) << w.what;
        fd.pwrite_exact(w.data.data(), w.data.size(), w.offset);
      }
  }
  uint8_t get(uint64_t off) const { uint8_t b; fd.pread_exact(&b, 1, off); return b; }
  void set(uint64_t off, uint8_t b) { fd.pwrite_exact(&b, 1, off); }
  void flip(uint64_t off, uint8_t mask) { set(off, get(off) ^ mask); }
  ReadResult read(uint32_t ss, uint64_t visible_size = 0) const {
    return read_table(fd, visible_size ? visible_size : size, ss);
  }
  Header header(uint64_t off) const {
    Header h;
    fd.pread_exact(&h, sizeof h, off);
    return h;
  }
  // Writes a header with a freshly computed CRC, so only the semantic checks can catch the edit.
  void put_header(uint64_t off, Header h) {
    h.header_crc32 = 0;
    h.header_crc32 = gpt_crc32(&h, sizeof h);
    fd.pwrite_exact(&h, sizeof h, off);
  }
};

Table mos_layout(uint64_t size, uint32_t ss) {
  Table t = new_table(size, ss);
  uint64_t mib = MiB / ss;
  uint64_t lba = mib;
  struct P { const char* type; const char* name; uint64_t mibs; };
  for (P p : {P{"bios_boot", "mosbios", 1}, P{"esp", "mosefi", 4}, P{"linux", "mosboot", 8}, P{"swap", "mosswap", 8}}) {
    add_partition(t, {parse_type(p.type), {}, lba, lba + p.mibs * mib - 1, 0, p.name, {}});
    lba += p.mibs * mib;
  }
  add_partition(t, {parse_type("linux"), {}, lba, t.last_usable_lba, 0, "mosdata", {}});
  return t;
}

TEST(GptGuid, MixedEndianLayoutAndText) {
  // The ESP type GUID's on-disk bytes as given in the UEFI specification.
  Guid g = *Guid::parse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  const uint8_t disk[16] = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};
  EXPECT_EQ(std::memcmp(g.b, disk, 16), 0);
  EXPECT_EQ(g.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  EXPECT_FALSE(Guid::parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93"));
  EXPECT_FALSE(Guid::parse("c12a7328xf81f-11d2-ba4b-00a0c93ec93b"));
  EXPECT_FALSE(Guid::parse("g12a7328-f81f-11d2-ba4b-00a0c93ec93b"));
  EXPECT_FALSE(Guid::parse("nope"));
}

TEST(GptGuid, RandomIsVersion4AndDistinct) {
  Guid a = Guid::random(), b = Guid::random();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.to_string()[14], '4');
  EXPECT_EQ(*Guid::parse(a.to_string()), a);
}

TEST(GptTypes, NamesAndRawGuids) {
  EXPECT_EQ(parse_type("esp").to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  EXPECT_EQ(parse_type("bios_boot").to_string(), "21686148-6449-6e6f-744e-656564454649");
  EXPECT_EQ(parse_type("0FC63DAF-8483-4772-8E79-3D69D8477DE4"), parse_type("linux"));
  EXPECT_EQ(type_name(parse_type("swap")), "swap");
  EXPECT_EQ(type_name(Guid::random()), std::nullopt);
  try {
    parse_type("ntfs-ish");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    EXPECT_NE(std::string(e.what()).find("linux_raid"), std::string::npos);
  }
  EXPECT_THROW(parse_type("00000000-0000-0000-0000-000000000000"), Error);
}

TEST(GptNames, Utf16RoundTripAndLimits) {
  for (std::string s : std::vector<std::string>{"mosdata", "Grüße-数据", "emoji-😀-x", std::string(36, 'a')}) {
    auto u = encode_name(s);
    EXPECT_EQ(decode_name(u.data(), u.size()), s);
  }
  EXPECT_EQ(encode_name("😀").size(), 2u);  // surrogate pair
  EXPECT_THROW(encode_name(std::string(37, 'a')), Error);
  EXPECT_THROW(encode_name(std::string(18, 'a') + std::string(10, 'b') + "😀😀😀😀😀"), Error);  // 38 units
  EXPECT_THROW(encode_name("\xff\xfe"), Error);
  EXPECT_THROW(encode_name("\xc0\xaf"), Error);  // overlong '/'
  EXPECT_THROW(encode_name(std::string("a\0b", 3)), Error);
  uint16_t lone[] = {0xD800, 'x', 0};
  EXPECT_EQ(decode_name(lone, 3), "\xEF\xBF\xBDx");
}

class GptRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GptRoundTrip, MosLayoutSurvivesSerializeAndParse) {
  uint32_t ss = GetParam();
  uint64_t size = 64 * MiB;
  Table t = mos_layout(size, ss);
  Image img(size);
  img.apply(plan_table_write(t, {.protective_mbr = true}));
  ReadResult r = img.read(ss);
  ASSERT_TRUE(r.primary_ok) << r.primary_error;
  ASSERT_TRUE(r.backup_ok) << r.backup_error;
  ASSERT_TRUE(r.table);
  EXPECT_EQ(r.mbr_kind, "protective");
  EXPECT_TRUE(r.warnings.empty());
  const Table& p = *r.table;
  EXPECT_EQ(p.disk_guid, t.disk_guid);
  EXPECT_EQ(p.first_usable_lba, 2 + 16384 / ss);
  EXPECT_EQ(p.last_usable_lba, size / ss - 2 - 16384 / ss);
  EXPECT_EQ(p.backup_header_lba, size / ss - 1);
  ASSERT_EQ(p.entries.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(p.entries[i].number, i + 1);
    EXPECT_EQ(p.entries[i].name, t.entries[i].name);
    EXPECT_EQ(p.entries[i].type, t.entries[i].type);
    EXPECT_EQ(p.entries[i].unique, t.entries[i].unique);
    EXPECT_EQ(p.entries[i].first_lba, t.entries[i].first_lba);
    EXPECT_EQ(p.entries[i].last_lba, t.entries[i].last_lba);
  }
  EXPECT_EQ(p.entries[0].first_lba * ss, MiB);
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, GptRoundTrip, ::testing::Values(512u, 4096u));

TEST(GptBuild, EditsAreValidated) {
  Table t = new_table(64 * MiB, 512);
  uint32_t n1 = add_partition(t, {parse_type("linux"), {}, 2048, 4095, 0, "a", {}});
  EXPECT_EQ(n1, 1u);
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 4000, 5000, 0, "b", {}}), Error);  // overlap
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 10, 5000, 0, "b", {}}), Error);    // before first usable
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 8192, t.last_usable_lba + 1, 0, "b", {}}), Error);
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 8192, 9000, 0, std::string(40, 'x'), {}}), Error);
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 8192, 9000, 0, "b", 1u}), Error);  // slot in use
  EXPECT_THROW(add_partition(t, {parse_type("linux"), {}, 8192, 9000, 0, "b", 129u}), Error);
  uint32_t n3 = add_partition(t, {parse_type("linux"), {}, 8192, 9000, 0, "c", 3u});
  EXPECT_EQ(n3, 3u);
  EXPECT_EQ(add_partition(t, {parse_type("swap"), {}, 4096, 8191, 0, "b", {}}), 2u);  // lowest free slot
  EXPECT_THROW(resize_partition(t, 1, 4096), Error);  // would overlap partition 2
  resize_partition(t, 3, t.last_usable_lba);
  EXPECT_EQ(t.find(3)->last_lba, t.last_usable_lba);
  delete_partition(t, 2);
  EXPECT_FALSE(t.find(2));
  try {
    delete_partition(t, 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::not_found);
  }
  EXPECT_THROW(new_table(16 * 1024, 512), Error);
}

TEST(GptBuild, PlanWritesBackupBeforePrimary) {
  Table t = mos_layout(64 * MiB, 512);
  auto plan = plan_table_write(t);
  ASSERT_EQ(plan.steps.size(), 2u);
  EXPECT_EQ(plan.steps[0].name, "backup");
  EXPECT_EQ(plan.steps[1].name, "primary");
  EXPECT_GT(plan.steps[0].writes[0].offset, plan.steps[1].writes[0].offset);
  for (const auto& s : plan.steps)
    for (const auto& w : s.writes) EXPECT_NE(w.offset, 0u) << "edits must keep the existing MBR";
}

TEST(GptBuild, LargerEntriesAndMovedArraysRoundTrip) {
  // Tables other tools may write: 256-byte entries, 32 of them, primary array far from LBA 2.
  Table t = new_table(64 * MiB, 512);
  t.entry_size = 256;
  t.entry_count = 64;
  t.entries_lba = 2048;
  t.first_usable_lba = 2048 + t.entry_array_sectors();
  add_partition(t, {parse_type("linux_raid"), {}, 4096, 8191, kAttrRequired | kAttrNoAuto, "raid-ü", {}});
  add_partition(t, {parse_type("xbootldr"), {}, 8192, 10239, 0, "boot", 64u});
  Image img(64 * MiB);
  img.apply(plan_table_write(t, {.protective_mbr = true}));
  auto r = img.read(512);
  ASSERT_TRUE(r.primary_ok) << r.primary_error;
  ASSERT_TRUE(r.backup_ok) << r.backup_error;
  EXPECT_EQ(r.table->entry_size, 256u);
  EXPECT_EQ(r.table->entries_lba, 2048u);
  ASSERT_EQ(r.table->entries.size(), 2u);
  EXPECT_EQ(r.table->entries[0].attributes, kAttrRequired | kAttrNoAuto);
  EXPECT_EQ(r.table->entries[0].name, "raid-ü");
  EXPECT_EQ(r.table->entries[1].number, 64u);
  EXPECT_EQ(type_name(r.table->entries[1].type), "xbootldr");
}

struct GptCorrupt : ::testing::Test {
  uint32_t ss = 512;
  uint64_t size = 64 * MiB;
  Table t = mos_layout(size, ss);
  Image img{size};
  uint64_t backup_off = (size / ss - 1) * ss;
  void SetUp() override { img.apply(plan_table_write(t, {.protective_mbr = true})); }
};

TEST_F(GptCorrupt, FlippedPrimaryHeaderByteFallsBackToBackup) {
  img.flip(ss + 40, 0x01);
  auto r = img.read(ss);
  EXPECT_FALSE(r.primary_ok);
  EXPECT_NE(r.primary_error.find("header CRC mismatch"), std::string::npos) << r.primary_error;
  EXPECT_TRUE(r.backup_ok) << r.backup_error;
  ASSERT_TRUE(r.table);
  EXPECT_EQ(r.table->entries.size(), 5u);
  EXPECT_EQ(r.table->entries_lba, 2u);
}

TEST_F(GptCorrupt, FlippedBackupEntryByteIsReported) {
  img.flip(t.backup_entries_lba * ss + 130, 0x80);
  auto r = img.read(ss);
  EXPECT_TRUE(r.primary_ok);
  EXPECT_FALSE(r.backup_ok);
  EXPECT_NE(r.backup_error.find("entry array CRC mismatch"), std::string::npos) << r.backup_error;
}

TEST_F(GptCorrupt, BothCopiesBadMeansNoTable) {
  img.flip(2 * ss + 5, 0x10);
  img.flip(backup_off + 20, 0x10);
  auto r = img.read(ss);
  EXPECT_FALSE(r.table);
  EXPECT_NE(r.primary_error.find("entry array CRC"), std::string::npos) << r.primary_error;
  EXPECT_NE(r.backup_error.find("header CRC"), std::string::npos) << r.backup_error;
}

TEST_F(GptCorrupt, TruncatedDeviceRejected) {
  auto r = img.read(ss, size / 2);
  EXPECT_FALSE(r.table);
  EXPECT_NE(r.primary_error.find("outside the disk"), std::string::npos) << r.primary_error;
  EXPECT_FALSE(r.backup_error.empty());
  auto tiny = img.read(ss, 1024);
  EXPECT_FALSE(tiny.table);
  EXPECT_NE(tiny.primary_error.find("too small"), std::string::npos);
}

TEST_F(GptCorrupt, AbsurdEntryCountAndSizeRejectedBeforeReading) {
  Header h = img.header(ss);
  h.number_of_partition_entries = 0x7fffffff;
  img.put_header(ss, h);
  auto r = img.read(ss);
  EXPECT_NE(r.primary_error.find("entry count 2147483647"), std::string::npos) << r.primary_error;
  EXPECT_TRUE(r.backup_ok);
  h.number_of_partition_entries = 128;
  h.size_of_partition_entry = 200;
  img.put_header(ss, h);
  EXPECT_NE(img.read(ss).primary_error.find("entry size 200"), std::string::npos);
  h.size_of_partition_entry = 128;
  h.header_size = 4096;
  img.put_header(ss, h);
  EXPECT_NE(img.read(ss).primary_error.find("header size 4096"), std::string::npos);
}

TEST_F(GptCorrupt, WrongLocationsRejected) {
  Header h = img.header(ss);
  h.my_lba = 7;
  img.put_header(ss, h);
  EXPECT_NE(img.read(ss).primary_error.find("claims to be at LBA 7"), std::string::npos);
  h = img.header(backup_off);
  h.alternate_lba = 5;
  img.put_header(backup_off, h);
  EXPECT_NE(img.read(ss).backup_error.find("alternate LBA is 5"), std::string::npos);
}

TEST_F(GptCorrupt, OverlappingEntriesRejectedEvenWithGoodCrcs) {
  Table bad = t;
  bad.entries[1].first_lba = bad.entries[0].last_lba;  // bypasses add_partition's checks
  img.apply(plan_table_write(bad));
  auto r = img.read(ss);
  EXPECT_FALSE(r.table);
  EXPECT_NE(r.primary_error.find("partitions 1 (LBA 2048-4095) and 2"), std::string::npos) << r.primary_error;
  EXPECT_NE(r.primary_error.find("overlap"), std::string::npos);
}

TEST_F(GptCorrupt, PrimaryAndBackupDisagreeing) {
  Table other = t;
  other.entries[4].name = "changed";
  img.apply(plan_table_write(other, {.primary = false}));
  auto r = img.read(ss);
  EXPECT_TRUE(r.primary_ok);
  EXPECT_FALSE(r.backup_ok);
  EXPECT_NE(r.backup_error.find("differs from the primary (partition entries)"), std::string::npos) << r.backup_error;
  EXPECT_EQ(r.table->entries[4].name, "mosdata");
}

TEST_F(GptCorrupt, RandomByteFlipsNeverCrashAndNeverYieldBadTables) {
  std::mt19937_64 rng(42);
  std::vector<uint64_t> hot = {ss, ss + 92, 2 * ss, 2 * ss + 128 * 5, t.backup_entries_lba * ss, backup_off};
  for (int i = 0; i < 300; ++i) {
    std::vector<std::pair<uint64_t, uint8_t>> saved;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      uint64_t off = hot[rng() % hot.size()] + rng() % 100;
      saved.push_back({off, img.get(off)});
      img.flip(off, static_cast<uint8_t>(1 + rng() % 255));
    }
    auto r = img.read(ss);
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) img.set(it->first, it->second);
    if (!r.table) continue;
    EXPECT_TRUE(r.primary_ok || r.backup_ok);
    for (const auto& e : r.table->entries) {
      EXPECT_LE(e.first_lba, e.last_lba);
      EXPECT_GE(e.first_lba, r.table->first_usable_lba);
      EXPECT_LE(e.last_lba, r.table->last_usable_lba);
    }
  }
}

}  // namespace
}  // namespace mos::gpt

namespace mos::engine {
namespace {

TEST(PartitionAlignment, OneMiBUnlessOptimalIoNeedsMore) {
  constexpr uint64_t MiB = 1 << 20;
  EXPECT_EQ(partition_alignment(512, 0), MiB);
  EXPECT_EQ(partition_alignment(4096, 0), MiB);
  EXPECT_EQ(partition_alignment(512, 65536), MiB);          // 64 KiB stripes divide 1 MiB
  EXPECT_EQ(partition_alignment(512, 3 * 65536), 3 * MiB);  // a 3-disk RAID stripe
  EXPECT_EQ(partition_alignment(4096, 4 * MiB), 4 * MiB);
  EXPECT_EQ(partition_alignment(512, 1000 * 512), MiB) << "lcm beyond 64 MiB is ignored";
  EXPECT_EQ(partition_alignment(512, 1000), MiB) << "not a sector multiple: ignored";
}

}  // namespace
}  // namespace mos::engine
