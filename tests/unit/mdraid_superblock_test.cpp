// md superblocks: build -> serialize -> parse round trips, checksums against the kernel's
// rule written out independently here, validation of hostile fields, updates the kernel makes
// (events, state, roles), and a garbage loop for the parser (meant for ASan/UBSan).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "mdraid/superblock.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"

namespace mos::mdraid {
namespace {

constexpr uint64_t GiB = 1024ull * 1024 * 1024;
constexpr Uuid kArray = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                         0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};

ArraySpec spec_for(Metadata m, bool clean = true) {
  ArraySpec s;
  s.metadata = m;
  s.uuid = kArray;
  s.name = "mosboot";
  s.ctime = 1764000000;
  s.clean = clean;
  s.events = 0;
  s.md_minor = 127;
  return s;
}

std::vector<MemberSpec> two_members(uint64_t size = GiB) {
  std::vector<MemberSpec> m(2);
  for (uint32_t i = 0; i < 2; ++i) {
    m[i].size_bytes = size;
    m[i].role = i;
    m[i].device_uuid.fill(static_cast<uint8_t>(0xa0 + i));
    m[i].major = 7;
    m[i].minor = i;
  }
  return m;
}

// Bytes as they would be read back at the superblock offset.
std::vector<uint8_t> padded(const Superblock& sb) {
  auto b = serialize(sb);
  b.resize(kSuperblockReadBytes, 0);
  return b;
}

// The kernel's rule, spelled out separately: sum 32-bit LE words with the checksum field
// taken as zero (v1: over 256 + 2*max_dev bytes, a trailing half word added as 16 bits),
// then add the carry word to the low word.
uint32_t fold(uint64_t sum) { return static_cast<uint32_t>((sum & 0xffffffff) + (sum >> 32)); }
uint32_t reference_csum1(std::vector<uint8_t> b) {
  uint32_t max_dev = load_le32(b.data() + 220);
  std::memset(b.data() + 216, 0, 4);
  uint64_t sum = 0;
  size_t len = 256 + 2 * size_t{max_dev}, i = 0;
  for (; i + 4 <= len; i += 4) sum += load_le32(b.data() + i);
  if (len - i == 2) sum += load_le16(b.data() + i);
  return fold(sum);
}
uint32_t reference_csum090(std::vector<uint8_t> b) {
  std::memset(b.data() + 38 * 4, 0, 4);  // sb_csum is word 32 + 6
  uint64_t sum = 0;
  for (size_t i = 0; i < 4096; i += 4) sum += load_le32(b.data() + i);
  return fold(sum);
}

TEST(MdSuperblock, V12RoundTrip) {
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  auto g = plan_geometry(spec, members);
  for (size_t i = 0; i < 2; ++i) {
    Superblock built = build_superblock(spec, g, members, i);
    auto bytes = padded(built);
    EXPECT_EQ(load_le32(bytes.data()), 0xa92b4efcu);
    EXPECT_EQ(load_le32(bytes.data() + 216), reference_csum1(bytes));
    Superblock p = parse_superblock(Metadata::v1_2, bytes, GiB);
    EXPECT_TRUE(p.checksum_ok);
    EXPECT_EQ(p.array_uuid, kArray);
    EXPECT_EQ(p.name, "mosboot");
    EXPECT_EQ(p.level, 1);
    EXPECT_EQ(p.raid_disks, 2u);
    EXPECT_EQ(p.ctime, spec.ctime);
    EXPECT_EQ(p.utime, spec.ctime);
    EXPECT_TRUE(p.clean);
    EXPECT_EQ(p.resync_offset, kResyncDone);
    EXPECT_EQ(p.dev_number, i);
    EXPECT_EQ(p.role, i);
    EXPECT_EQ(p.device_uuid, members[i].device_uuid);
    EXPECT_EQ(p.superblock_offset, 4096u);
    EXPECT_EQ(p.data_offset_sectors, g.data_offset_sectors);
    EXPECT_EQ(p.data_size_sectors, g.data_size_sectors[i]);
    EXPECT_EQ(p.component_sectors, g.component_sectors);
    EXPECT_EQ(p.max_dev, 128u);  // mdadm: (512 - 256) / 2 for 2 slots
    ASSERT_EQ(p.roles.size(), 128u);
    EXPECT_EQ(p.roles[0], 0);
    EXPECT_EQ(p.roles[1], 1);
    EXPECT_EQ(p.roles[2], kRoleSpare);
    EXPECT_EQ(p.bblog_size, 8);
    EXPECT_EQ(p.bblog_offset, 16);
    EXPECT_FALSE(p.has_bitmap);
    EXPECT_EQ(serialize(p), serialize(built));  // byte-identical again
  }
}

TEST(MdSuperblock, V090RoundTrip) {
  auto spec = spec_for(Metadata::v0_90, false);
  spec.events = 1;
  auto members = two_members();
  auto g = plan_geometry(spec, members);
  Superblock built = build_superblock(spec, g, members, 1);
  auto bytes = serialize(built);
  ASSERT_EQ(bytes.size(), 4096u);
  EXPECT_EQ(load_le32(bytes.data() + 38 * 4), reference_csum090(bytes));
  // UUID words are host-endian: the first printed group 11223344 is word 5.
  EXPECT_EQ(load_le32(bytes.data() + 5 * 4), 0x11223344u);
  EXPECT_EQ(load_le32(bytes.data() + 13 * 4), 0x55667788u);
  Superblock p = parse_superblock(Metadata::v0_90, bytes, GiB);
  EXPECT_TRUE(p.checksum_ok);
  EXPECT_EQ(p.array_uuid, kArray);
  EXPECT_EQ(p.level, 1);
  EXPECT_EQ(p.raid_disks, 2u);
  EXPECT_EQ(p.events, 1u);
  EXPECT_FALSE(p.clean);
  EXPECT_EQ(p.md_minor, 127u);
  EXPECT_EQ(p.component_sectors, g.component_sectors);
  EXPECT_EQ(p.superblock_offset, GiB - 65536);
  EXPECT_EQ(p.dev_number, 1u);
  EXPECT_EQ(p.role, 1);
  EXPECT_EQ(p.nr_disks, 2u);
  EXPECT_EQ(p.active_disks, 2u);
  EXPECT_EQ(p.working_disks, 2u);
  EXPECT_EQ(p.failed_disks, 0u);
  EXPECT_EQ(p.this_disk, (Disk090{1, 7, 1, 1, kDiskActive | kDiskSync}));
  EXPECT_EQ(p.disks[0], (Disk090{0, 7, 0, 0, kDiskActive | kDiskSync}));
  EXPECT_EQ(serialize(p), bytes);
}

TEST(MdSuperblock, DegradedArrayMarksMissingSlot) {
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
    auto spec = spec_for(m);
    std::vector<MemberSpec> members(1);
    members[0].size_bytes = GiB;
    members[0].role = 0;
    auto g = plan_geometry(spec, members);
    Superblock p = parse_superblock(m, padded(build_superblock(spec, g, members, 0)), GiB);
    EXPECT_EQ(p.raid_disks, 2u);
    EXPECT_EQ(p.role, 0);
    EXPECT_NE(p.roles[1], 1);  // nobody holds slot 1
    if (m == Metadata::v0_90) {
      EXPECT_EQ(p.disks[1], (Disk090{1, 0, 0, 1, kDiskFaulty | kDiskRemoved}));
      EXPECT_EQ(p.failed_disks, 1u);
      EXPECT_EQ(p.active_disks, 1u);
      EXPECT_EQ(p.nr_disks, 2u);
    }
  }
}

TEST(MdSuperblock, SpareGetsNumberAfterSlots) {
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  members.push_back(members[0]);
  members[2].role.reset();
  auto g = plan_geometry(spec, members);
  Superblock p =
      parse_superblock(Metadata::v1_2, padded(build_superblock(spec, g, members, 2)), GiB);
  EXPECT_EQ(p.dev_number, 2u);
  EXPECT_EQ(p.role, kRoleSpare);
  EXPECT_FALSE(p.is_active_member());
}

TEST(MdSuperblock, BadSpecsAreRefused) {
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  auto g = plan_geometry(spec, members);
  members[1].role = 0;
  EXPECT_THROW(build_superblock(spec, g, members, 0), Error);  // two members in slot 0
  members[1].role = 2;
  EXPECT_THROW(build_superblock(spec, g, members, 0), Error);  // beyond raid_disks
  members = two_members();
  spec.name = std::string(32, 'x');
  EXPECT_THROW(build_superblock(spec, g, members, 0), Error);
  spec.name = "ok";
  spec.raid_disks = 0;
  EXPECT_THROW(build_superblock(spec, g, members, 0), Error);
  spec = spec_for(Metadata::v0_90);
  EXPECT_THROW(build_superblock(spec, g, members, 0), Error);  // geometry of another version
}

TEST(MdSuperblock, CorruptByteFailsChecksum) {
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
    auto spec = spec_for(m);
    auto members = two_members();
    auto bytes = padded(build_superblock(spec, plan_geometry(spec, members), members, 0));
    // ctime (v1.2 byte 64, v0.90 word 6): covered by the checksum, not by validation.
    size_t at = m == Metadata::v1_2 ? 64 : 24;
    bytes[at] ^= 0x40;
    auto p = parse_superblock(m, bytes, GiB);
    EXPECT_FALSE(p.checksum_ok) << metadata_text(m);
  }
}

TEST(MdSuperblock, V12ChecksumIgnoresBytesBeyondMaxDev) {
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  auto bytes = padded(build_superblock(spec, plan_geometry(spec, members), members, 0));
  bytes[256 + 2 * 128 + 10] ^= 0xff;  // beyond dev_roles[max_dev]
  EXPECT_TRUE(parse_superblock(Metadata::v1_2, bytes, GiB).checksum_ok);
}

void expect_rejected(Metadata m, std::vector<uint8_t> bytes, uint64_t dev, const char* why) {
  try {
    parse_superblock(m, bytes, dev);
    ADD_FAILURE() << "accepted: " << why;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation) << why;
    EXPECT_NE(std::string(e.what()).find("md"), std::string::npos) << e.what();
  }
}

TEST(MdSuperblock, V12BadFieldsAreRejected) {
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  const auto good = padded(build_superblock(spec, plan_geometry(spec, members), members, 0));
  auto b = good;
  b[0] ^= 1;
  expect_rejected(Metadata::v1_2, b, GiB, "magic");
  b = good;
  store_le32(b.data() + 4, 2);
  expect_rejected(Metadata::v1_2, b, GiB, "major version");
  b = good;
  store_le32(b.data() + 220, 5000);
  expect_rejected(Metadata::v1_2, b, GiB, "max_dev");
  b = good;
  store_le64(b.data() + 144, 0);
  expect_rejected(Metadata::v1_2, b, GiB, "super_offset");
  b = good;
  store_le64(b.data() + 128, 4 * GiB / 512);
  expect_rejected(Metadata::v1_2, b, GiB, "data_offset beyond the device");
  b = good;
  store_le64(b.data() + 136, GiB / 512);
  expect_rejected(Metadata::v1_2, b, GiB, "data_size beyond the device");
  b = good;
  store_le32(b.data() + 92, 0);
  expect_rejected(Metadata::v1_2, b, GiB, "raid_disks 0");
  b = good;
  store_le64(b.data() + 80, GiB);
  expect_rejected(Metadata::v1_2, b, GiB, "size larger than data_size");
  b = good;
  b[230] = 1;
  expect_rejected(Metadata::v1_2, b, GiB, "pad3");
  b = good;
  store_le32(b.data() + 8, 1u << 20);
  expect_rejected(Metadata::v1_2, b, GiB, "unknown feature");
  b = good;
  store_le32(b.data() + 8, 1);
  store_le32(b.data() + 96, static_cast<uint32_t>(-100));
  expect_rejected(Metadata::v1_2, b, GiB, "bitmap before the device");
  b = good;
  b.resize(200);
  expect_rejected(Metadata::v1_2, b, GiB, "truncated header");
  b = good;
  b.resize(300);
  expect_rejected(Metadata::v1_2, b, GiB, "truncated dev_roles");
  expect_rejected(Metadata::v1_2, good, 4096, "device too small");
}

TEST(MdSuperblock, V090BadFieldsAreRejected) {
  auto spec = spec_for(Metadata::v0_90);
  auto members = two_members();
  const auto good = serialize(build_superblock(spec, plan_geometry(spec, members), members, 0));
  auto b = good;
  std::swap(b[0], b[3]), std::swap(b[1], b[2]);
  expect_rejected(Metadata::v0_90, b, GiB, "big-endian host");
  b = good;
  store_le32(b.data() + 8, 1);
  expect_rejected(Metadata::v0_90, b, GiB, "minor version");
  b = good;
  store_le32(b.data() + 40, 28);
  expect_rejected(Metadata::v0_90, b, GiB, "raid_disks");
  b = good;
  store_le32(b.data() + 36, 1000);
  expect_rejected(Metadata::v0_90, b, GiB, "nr_disks");
  b = good;
  store_le32(b.data() + 32, 0xffffffff);
  expect_rejected(Metadata::v0_90, b, GiB, "size past the superblock");
  b = good;
  store_le32(b.data() + 992 * 4, 27);
  expect_rejected(Metadata::v0_90, b, GiB, "this_disk number");
  b = good;
  b.resize(4095);
  expect_rejected(Metadata::v0_90, b, GiB, "truncated");
  expect_rejected(Metadata::v0_90, good, 100 * 1024, "device too small");
}

TEST(MdSuperblock, KernelStyleUpdatesParse) {
  // What the kernel rewrites while running: events, utime, state active, roles (a failed
  // member, a spare promoted). The parser must take all of it, checksum intact.
  auto spec = spec_for(Metadata::v1_2);
  auto members = two_members();
  auto g = plan_geometry(spec, members);
  Superblock sb =
      parse_superblock(Metadata::v1_2, padded(build_superblock(spec, g, members, 0)), GiB);
  Superblock up = bump_events(sb, sb.utime + 60);
  EXPECT_EQ(up.events, sb.events + 1);
  up.resync_offset = 12345;  // active, mid-resync
  up.clean = false;
  up.roles[1] = kRoleFaulty;
  up.feature_map |= 2;  // recovery offset in use
  up.recovery_offset = 2048;
  Superblock back = parse_superblock(Metadata::v1_2, padded(up), GiB);
  EXPECT_TRUE(back.checksum_ok);
  EXPECT_EQ(back.events, sb.events + 1);
  EXPECT_EQ(back.utime, sb.utime + 60);
  EXPECT_FALSE(back.clean);
  EXPECT_EQ(back.resync_offset, 12345u);
  EXPECT_EQ(back.roles[1], kRoleFaulty);
  EXPECT_EQ(back.recovery_offset, 2048u);

  auto spec0 = spec_for(Metadata::v0_90);
  auto g0 = plan_geometry(spec0, members);
  Superblock s0 =
      parse_superblock(Metadata::v0_90, serialize(build_superblock(spec0, g0, members, 0)), GiB);
  Superblock u0 = bump_events(s0, s0.utime + 5);
  u0.clean = false;
  u0.disks[1].state = kDiskFaulty;
  Superblock b0 = parse_superblock(Metadata::v0_90, serialize(u0), GiB);
  EXPECT_TRUE(b0.checksum_ok);
  EXPECT_EQ(b0.events, s0.events + 1);
  EXPECT_FALSE(b0.clean);
  EXPECT_EQ(b0.roles[1], kRoleFaulty);
}

TEST(MdSuperblock, NewMemberSuperblock) {
  auto spec = spec_for(Metadata::v1_2);
  std::vector<MemberSpec> one(1);
  one[0].size_bytes = GiB;
  one[0].role = 0;
  auto g = plan_geometry(spec, one);
  Superblock live =
      parse_superblock(Metadata::v1_2, padded(build_superblock(spec, g, one, 0)), GiB);
  MemberSpec repl;
  repl.size_bytes = 2 * GiB;
  repl.device_uuid.fill(0x5a);
  Superblock n = superblock_for_new_member(live, repl, 1, live.utime + 1);
  Superblock p = parse_superblock(Metadata::v1_2, padded(n), 2 * GiB);
  EXPECT_TRUE(p.checksum_ok);
  EXPECT_EQ(p.dev_number, 1u);
  EXPECT_EQ(p.role, kRoleSpare);
  EXPECT_EQ(p.device_uuid, repl.device_uuid);
  EXPECT_EQ(p.data_size_sectors, 2 * GiB / 512 - live.data_offset_sectors);
  EXPECT_EQ(p.component_sectors, live.component_sectors);
  EXPECT_EQ(p.array_uuid, kArray);
  repl.size_bytes = GiB / 2;
  EXPECT_THROW(superblock_for_new_member(live, repl, 1, 0), Error);
}

TEST(MdSuperblock, BitmapAreaAllDirty) {
  auto spec = spec_for(Metadata::v1_2);
  spec.bitmap = true;
  auto members = two_members();
  auto g = plan_geometry(spec, members);
  ASSERT_TRUE(g.bitmap);
  auto plan = plan_member(spec, g, members, 0);
  const mos::PlannedWrite* bm = nullptr;
  for (auto& s : plan.steps)
    for (auto& w : s.writes)
      if (w.what.find("bitmap") != std::string::npos) bm = &w;
  ASSERT_NE(bm, nullptr);
  EXPECT_EQ(bm->offset, 4096u + 8 * 512);
  EXPECT_EQ(bm->data.size(), 4096u);
  EXPECT_EQ(load_le32(bm->data.data()), 0x6d746962u);  // "bitm"
  for (size_t i = 256; i < bm->data.size(); ++i) ASSERT_EQ(bm->data[i], 0xff) << i;
  BitmapInfo info = parse_bitmap(std::span(bm->data.data(), bm->data.size()));
  EXPECT_EQ(info.chunk_bytes, g.bitmap->chunk_bytes);
  EXPECT_EQ(info.sync_size_sectors, g.component_sectors);
  EXPECT_EQ(info.daemon_sleep, 5u);
  EXPECT_EQ(info.version, 4u);
  EXPECT_EQ(info.uuid, kArray);
  std::vector<uint8_t> junk(256, 0);
  EXPECT_THROW(parse_bitmap(junk), Error);
}

TEST(MdSuperblock, PlanClearsOtherVersionsOnly) {
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
    auto spec = spec_for(m);
    auto members = two_members();
    auto g = plan_geometry(spec, members);
    auto plan = plan_member(spec, g, members, 0);
    ASSERT_EQ(plan.steps.size(), 2u);
    uint64_t sb_at = g.superblock_offsets[0];
    for (auto& z : plan.steps[0].zeroes) {
      EXPECT_FALSE(z.offset <= sb_at && sb_at < z.offset + z.length) << z.what;
      EXPECT_LE(z.offset + z.length, GiB);
    }
    EXPECT_EQ(plan.steps[0].zeroes.size(), 3u);  // the three other places md looks
    EXPECT_EQ(plan.steps[1].writes.front().offset, sb_at);
    EXPECT_EQ(plan.steps[1].writes.front().data.size(), 4096u);
  }
}

TEST(MdSuperblock, UuidText) {
  EXPECT_EQ(mdadm_uuid_text(kArray), "11223344:55667788:99aabbcc:ddeeff01");
  EXPECT_EQ(mos::uuid_text(kArray), "11223344-5566-7788-99aa-bbccddeeff01");
  EXPECT_EQ(parse_uuid("11223344:55667788:99aabbcc:ddeeff01"), kArray);
  EXPECT_EQ(parse_uuid("11223344-5566-7788-99aa-bbccddeeff01"), kArray);
  EXPECT_FALSE(parse_uuid("1122"));
  EXPECT_FALSE(parse_uuid("11223344:55667788:99aabbcc:ddeeff0g"));
  EXPECT_NE(random_uuid(), random_uuid());
}

// Random bytes with the magic (and, half the time, plausible version fields) planted: the
// parser either returns or throws mos::Error, never crashes or reads past the buffer.
TEST(MdSuperblock, GarbageNeverCrashes) {
  std::mt19937_64 rng(20261127);
  for (int iter = 0; iter < 20000; ++iter) {
    size_t n = iter % 7 == 0 ? rng() % 4200 : 4096;
    std::vector<uint8_t> b(n);
    for (auto& c : b) c = static_cast<uint8_t>(rng());
    if (n >= 8) store_le32(b.data(), 0xa92b4efc);
    if (n >= 12 && iter % 2)
      store_le32(b.data() + 4, iter % 4 == 1 ? 1 : 0), store_le32(b.data() + 8, 90);
    if (n >= 224 && iter % 3 == 0) store_le32(b.data() + 220, static_cast<uint32_t>(rng() % 400));
    if (n >= 152 && iter % 2) store_le64(b.data() + 144, 8);
    uint64_t dev = (rng() % 4 == 0) ? rng() % (1 << 20) : GiB;
    if (n >= 4 && iter % 5 == 0) {
      store_le32(b.data(), 0x6d746962);  // "bitm": the bitmap superblock parser too
      try {
        parse_bitmap(b);
      } catch (const Error&) {
      }
      continue;
    }
    for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
      try {
        Superblock sb = parse_superblock(m, b, dev);
        auto again = serialize(sb);
        EXPECT_FALSE(again.empty());
      } catch (const Error&) {
      }
    }
  }
}

}  // namespace
}  // namespace mos::mdraid
