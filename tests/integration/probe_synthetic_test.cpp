// Signatures no tool here can make (no md driver, no zfs or bcachefs tools in Debian 12 main):
// superblocks built byte by byte from the published layouts (linux/raid/md_p.h, the ZFS
// on-disk format, bcachefs_format.h), then judged by `blkid -p` on the image file — blkid
// probes regular files too. bcachefs is newer than the installed blkid (2.38), so its
// expectations are the values the test wrote.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fsmake/probe/probe.hpp"
#include "base/bytes.hpp"
#include "ioctl/fd.hpp"
#include "tests/integration/probe_oracles.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;

// A sparse image file written piecewise.
struct Image {
  TempDir dir;
  std::string path = dir / "img";
  uint64_t size;
  explicit Image(uint64_t sz) : size(sz) {
    io::Fd fd = io::Fd::open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(ftruncate(fd.get(), static_cast<off_t>(sz)), 0);
  }
  void write(uint64_t off, const std::vector<uint8_t>& b) const {
    io::Fd fd = io::Fd::open(path, O_RDWR);
    fd.pwrite_exact(b.data(), b.size(), off);
  }
};

void put32be(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put64be(std::vector<uint8_t>& b, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}

fsmake::ProbeResult probe_file(const std::string& path) {
  io::Fd fd = io::Fd::open(path, O_RDONLY);
  struct stat st{};
  EXPECT_EQ(fstat(fd.get(), &st), 0);
  return fsmake::probe_device(fd, static_cast<uint64_t>(st.st_size), 512);
}

std::map<std::string, std::string> blkid_file(const std::string& path) {
  auto kv = blkid_probe(path);
  kv.erase("DEVNAME");
  return kv;
}

void expect_same_as_blkid(const std::string& path, const std::string& want_type) {
  auto b = blkid_file(path);
  auto p = probe_file(path);
  ASSERT_EQ(b["TYPE"], want_type) << "oracle disagrees with the test's construction";
  EXPECT_EQ(p.type, b["TYPE"]);
  EXPECT_EQ(p.usage, b["USAGE"]);
  EXPECT_EQ(p.label, b["LABEL"]);
  EXPECT_EQ(p.uuid, b["UUID"]);
  EXPECT_EQ(p.uuid_sub, b["UUID_SUB"]);
  EXPECT_EQ(p.version, b["VERSION"]);
}

// Our signatures cover wipefs's (equal unless wipefs stops early, as with ZFS uberblocks:
// it erases only until fewer than four remain); zeroing ours leaves blkid with nothing.
void expect_wipe_covers_wipefs(const Image& img, bool equal) {
  io::Fd fd = io::Fd::open(img.path, O_RDWR);
  std::set<std::pair<uint64_t, uint32_t>> ours;
  for (const auto& s : fsmake::find_signatures(fd, img.size, 512)) ours.insert({s.offset, s.length});
  auto theirs = wipefs_would_erase(img.path);
  ASSERT_FALSE(theirs.empty());
  if (equal) {
    EXPECT_EQ(ours, theirs);
  }
  for (const auto& t : theirs) EXPECT_TRUE(ours.count(t)) << "missing " << t.first;
  for (auto [off, len] : ours) {
    std::vector<uint8_t> zero(len, 0);
    fd.pwrite_exact(zero.data(), len, off);
  }
  EXPECT_EQ(blkid_file(img.path)["TYPE"], "");
  EXPECT_TRUE(wipefs_would_erase(img.path).empty());
}

// ---- partition tables ----

TEST(ProbeSynthetic, GptImageOnASmallerDiskIsPmbr) {
  Image img(64 * MiB);
  ASSERT_TRUE(run_tool({"sgdisk", "-o", "-n1:0:+8M", img.path}).ok());
  ASSERT_EQ(truncate(img.path.c_str(), 48 * MiB), 0);  // primary's usable range now past the end
  img.size = 48 * MiB;
  auto b = blkid_file(img.path);
  auto p = probe_file(img.path);
  ASSERT_EQ(b["PTTYPE"], "PMBR");
  EXPECT_EQ(p.pttype, b["PTTYPE"]);
  EXPECT_EQ(p.ptuuid, b["PTUUID"]);
  expect_wipe_covers_wipefs(img, false);
}

// Cut 16 sectors off a GPT disk: the primary's usable area still fits but its alternate LBA is
// past the end. blkid still calls it gpt, and so must the probe (gpt::read_table, stricter,
// refuses it as damaged — the engine reports that separately).
TEST(ProbeSynthetic, GptWhoseBackupWasCutOffIsStillGpt) {
  Image img(64 * MiB);
  ASSERT_TRUE(run_tool({"sgdisk", "-o", "-n1:0:+8M", img.path}).ok());
  img.size = 64 * MiB - 16 * 512;
  ASSERT_EQ(truncate(img.path.c_str(), static_cast<off_t>(img.size)), 0);
  auto b = blkid_file(img.path);
  ASSERT_EQ(b["PTTYPE"], "gpt");
  auto p = probe_file(img.path);
  EXPECT_EQ(p.pttype, "gpt");
  EXPECT_EQ(p.ptuuid, b["PTUUID"]);
}

TEST(ProbeSynthetic, GptFromEitherHeaderCopy) {
  for (bool keep_primary : {true, false}) {
    Image img(64 * MiB);
    ASSERT_TRUE(run_tool({"sgdisk", "-o", "-n1:0:+8M", img.path}).ok());
    // Break one copy's header CRC: the other copy alone still makes it GPT for blkid and us.
    uint64_t off = keep_primary ? img.size - 512 + 16 : 512 + 16;
    img.write(off, {0xde, 0xad});
    auto b = blkid_file(img.path);
    auto p = probe_file(img.path);
    ASSERT_EQ(b["PTTYPE"], "gpt");
    EXPECT_EQ(p.pttype, "gpt");
    EXPECT_EQ(p.ptuuid, b["PTUUID"]);
  }
}

// ---- md (linux/raid/md_p.h) ----

std::vector<uint8_t> md090_superblock(bool big_endian, uint32_t size_kib) {
  std::vector<uint8_t> sb(4096);
  uint32_t words[16] = {0xa92b4efc, 0, 90, 0, 0, 0x01234567, 1700000000, 1, size_kib, 2, 2, 0, 0,
                        0x89abcdef, 0xfedcba98, 0x76543210};
  for (int i = 0; i < 16; ++i) {
    if (big_endian)
      put32be(sb, 4 * i, words[i]);
    else
      store_le32(sb.data() + 4 * i, words[i]);
  }
  return sb;
}

std::vector<uint8_t> md1_superblock(uint64_t super_offset_bytes, const char* name) {
  std::vector<uint8_t> sb(1024);
  store_le32(sb.data() + 0x00, 0xa92b4efc);
  store_le32(sb.data() + 0x04, 1);
  for (int i = 0; i < 16; ++i) sb[0x10 + i] = static_cast<uint8_t>(0xa0 + i);  // set_uuid
  std::memcpy(sb.data() + 0x20, name, std::strlen(name));                    // set_name
  store_le32(sb.data() + 0x48, 1);                                            // level
  store_le64(sb.data() + 0x90, super_offset_bytes >> 9);                      // super_offset
  for (int i = 0; i < 16; ++i) sb[0xa8 + i] = static_cast<uint8_t>(0x10 + i);  // device_uuid
  return sb;
}

TEST(ProbeSynthetic, Md090BothByteOrders) {
  for (bool be : {false, true}) {
    Image img(64 * MiB + 12 * KiB);  // not 64 KiB-aligned: the superblock rounds down
    uint64_t off = ((img.size & ~(64 * KiB - 1)) - 64 * KiB);
    img.write(off, md090_superblock(be, 60 * 1024));
    expect_same_as_blkid(img.path, "linux_raid_member");
    EXPECT_EQ(probe_file(img.path).uuid, "01234567-89ab-cdef-fedc-ba9876543210");
    EXPECT_EQ(probe_file(img.path).version, "0.90.0");
    expect_wipe_covers_wipefs(img, true);
  }
}

TEST(ProbeSynthetic, Md1xAtEachLocation) {
  struct Case {
    uint64_t size;
    uint64_t off;
    const char* version;
  } cases[] = {
      {32 * MiB + 5 * KiB, (32 * MiB + 4 * KiB) - 8 * KiB, "1.0"},
      {32 * MiB, 0, "1.1"},
      {32 * MiB, 4096, "1.2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.version);
    Image img(c.size);
    img.write(c.off, md1_superblock(c.off, "mosnode:mosraid"));
    expect_same_as_blkid(img.path, "linux_raid_member");
    auto p = probe_file(img.path);
    EXPECT_EQ(p.version, c.version);
    EXPECT_EQ(p.label, "mosnode:mosraid");
    EXPECT_EQ(p.uuid_sub, "10111213-1415-1617-1819-1a1b1c1d1e1f");
    expect_wipe_covers_wipefs(img, true);
  }
}

TEST(ProbeSynthetic, Md1xWrongSuperOffsetIsNotAMember) {
  Image img(32 * MiB);
  img.write(4096, md1_superblock(0, "x"));  // claims to live at sector 0
  EXPECT_EQ(blkid_file(img.path)["TYPE"], "");
  EXPECT_EQ(probe_file(img.path).type, "");
}

// ---- ZFS vdev labels ----

// XDR nvlist writer: just enough for the pairs libblkid reads.
struct Nvlist {
  std::vector<uint8_t> b = std::vector<uint8_t>(12, 0);  // encoding header + version + flags
  void pair(const std::string& name, const std::vector<uint8_t>& value) {
    size_t namesize = (name.size() + 3) & ~size_t{3};
    size_t size = 12 + namesize + value.size();
    size_t at = b.size();
    b.resize(at + size);
    put32be(b, at, static_cast<uint32_t>(size));
    put32be(b, at + 4, static_cast<uint32_t>(size));
    put32be(b, at + 8, static_cast<uint32_t>(name.size()));
    std::memcpy(b.data() + at + 12, name.data(), name.size());
    std::memcpy(b.data() + at + 12 + namesize, value.data(), value.size());
  }
  void u64(const std::string& name, uint64_t v) {
    std::vector<uint8_t> val(16);
    put32be(val, 0, 8), put32be(val, 4, 1), put64be(val, 8, v);
    pair(name, val);
  }
  void str(const std::string& name, const std::string& s) {
    std::vector<uint8_t> val(12 + ((s.size() + 4) & ~size_t{3}));
    put32be(val, 0, 9), put32be(val, 4, 1), put32be(val, 8, static_cast<uint32_t>(s.size()));
    std::memcpy(val.data() + 12, s.data(), s.size());
    pair(name, val);
  }
  // Nested nvlist: type 19, one element, then the inner list's version/flags and pairs.
  void begin_list(const std::string& name) {
    std::vector<uint8_t> val(16);
    put32be(val, 0, 19), put32be(val, 4, 1);
    size_t namesize = (name.size() + 3) & ~size_t{3};
    size_t at = b.size();
    b.resize(at + 12 + namesize);
    put32be(b, at, static_cast<uint32_t>(12 + namesize + 16 + 200));  // encoded size spans the list
    put32be(b, at + 8, static_cast<uint32_t>(name.size()));
    std::memcpy(b.data() + at + 12, name.data(), name.size());
    b.insert(b.end(), val.begin(), val.end());
  }
  void end() { b.resize(b.size() + 8, 0); }
};

std::vector<uint8_t> zfs_nvlist(const std::string& pool, uint64_t pool_guid, uint64_t guid) {
  Nvlist nv;
  nv.u64("version", 5000);
  nv.str("name", pool);
  nv.u64("state", 0);
  nv.u64("txg", 4);
  nv.u64("pool_guid", pool_guid);
  nv.u64("top_guid", 42);
  nv.begin_list("vdev_tree");
  nv.str("type", "disk");
  nv.u64("guid", 999);  // inside vdev_tree: not the member's UUID_SUB
  nv.end();
  nv.u64("guid", guid);
  nv.end();
  return nv.b;
}

void write_zfs_label(const Image& img, uint64_t label_off, int uberblocks,
                     const std::vector<uint8_t>& nvlist) {
  img.write(label_off + 16 * KiB, nvlist);
  for (int i = 0; i < uberblocks; ++i) {
    std::vector<uint8_t> ub(1024);
    store_le64(ub.data(), 0x00bab10c);
    store_le64(ub.data() + 8, 5000);  // ub_version
    store_le64(ub.data() + 16, 4 + i);
    img.write(label_off + 128 * KiB + uint64_t(i) * 1024, ub);
  }
}

TEST(ProbeSynthetic, ZfsMemberFromFirstLabel) {
  Image img(80 * MiB + 100 * KiB);
  write_zfs_label(img, 0, 4, zfs_nvlist("mospool", 1234567890123456789ull, 987654321));
  expect_same_as_blkid(img.path, "zfs_member");
  auto p = probe_file(img.path);
  EXPECT_EQ(p.label, "mospool");
  EXPECT_EQ(p.uuid, "1234567890123456789");
  EXPECT_EQ(p.uuid_sub, "987654321");
  expect_wipe_covers_wipefs(img, false);
}

TEST(ProbeSynthetic, ZfsMemberCountsUberblocksAcrossLabels) {
  Image img(80 * MiB + 100 * KiB);
  uint64_t align = img.size % (256 * KiB);
  uint64_t l3 = img.size - 256 * KiB - align;
  write_zfs_label(img, 0, 2, zfs_nvlist("first", 11, 12));
  write_zfs_label(img, l3, 2, zfs_nvlist("tail", 21, 22));
  expect_same_as_blkid(img.path, "zfs_member");
  EXPECT_EQ(probe_file(img.path).label, "tail");  // names come from the last label examined
  expect_wipe_covers_wipefs(img, false);
}

TEST(ProbeSynthetic, ZfsNeedsFourUberblocks) {
  Image img(80 * MiB);
  write_zfs_label(img, 0, 3, zfs_nvlist("few", 1, 2));
  EXPECT_EQ(blkid_file(img.path)["TYPE"], "");
  EXPECT_EQ(probe_file(img.path).type, "");
}

// ---- bcachefs (bcachefs_format.h) ----

std::vector<uint8_t> bcachefs_superblock(uint8_t csum_type) {
  const uint32_t member_bytes = 56, nr_devices = 2;
  const uint32_t field_bytes = 16 + nr_devices * member_bytes;
  std::vector<uint8_t> sb(752 + field_bytes);
  store_le16(sb.data() + 16, (1 << 10) | 7);  // version 1.7
  const uint8_t magic[16] = {0xc6, 0x85, 0x73, 0xf6, 0x66, 0xce, 0x90, 0xa9,
                             0xd9, 0x6a, 0x60, 0xcf, 0x80, 0x3d, 0xf7, 0xef};
  std::memcpy(sb.data() + 24, magic, 16);
  for (int i = 0; i < 16; ++i) sb[40 + i] = 0x11, sb[56 + i] = static_cast<uint8_t>(0xc0 + i);
  std::memcpy(sb.data() + 72, "MOSBCH", 6);
  store_le64(sb.data() + 104, 4096 / 512);  // offset of this superblock, sectors
  store_le16(sb.data() + 120, 8);           // block size, sectors
  sb[122] = 1;                              // dev_idx
  sb[123] = nr_devices;
  store_le32(sb.data() + 124, field_bytes / 8);
  sb[144] = static_cast<uint8_t>(csum_type << 2);  // BCH_SB_CSUM_TYPE in flags[0]
  sb[257] = 3;                                     // sb_max_size_bits: 4 KiB
  uint8_t* f = sb.data() + 752;                    // members_v2 field
  store_le32(f, field_bytes / 8);
  store_le32(f + 4, 11);
  store_le16(f + 8, member_bytes);
  for (uint32_t d = 0; d < nr_devices; ++d)
    for (int i = 0; i < 16; ++i) f[16 + d * member_bytes + i] = static_cast<uint8_t>(0x30 * (d + 1) + i);
  if (csum_type == 1) store_le32(sb.data(), crc32c(sb.data() + 16, sb.size() - 16));
  return sb;
}

TEST(ProbeSynthetic, BcachefsWithCrc32cSuperblock) {
  Image img(64 * MiB);
  img.write(4096, bcachefs_superblock(1));
  auto p = probe_file(img.path);
  EXPECT_EQ(p.type, "bcachefs");
  EXPECT_EQ(p.usage, "filesystem");
  EXPECT_EQ(p.label, "MOSBCH");
  EXPECT_EQ(p.uuid, "c0c1c2c3-c4c5-c6c7-c8c9-cacbcccdcecf");
  EXPECT_EQ(p.uuid_sub, "60616263-6465-6667-6869-6a6b6c6d6e6f");  // member 1
  EXPECT_EQ(p.version, "1.7");
}

TEST(ProbeSynthetic, BcachefsBadChecksumOrOffsetIsIgnored) {
  {
    Image img(64 * MiB);
    auto sb = bcachefs_superblock(1);
    sb[80] ^= 1;  // label byte changed after the checksum
    img.write(4096, sb);
    EXPECT_EQ(probe_file(img.path).type, "");
  }
  {
    Image img(64 * MiB);
    img.write(8192, bcachefs_superblock(0));  // records offset 8 sectors, lives at 16
    EXPECT_EQ(probe_file(img.path).type, "");
  }
}

}  // namespace
}  // namespace mos::test
