// bcache and bcachefs (libblkid bcache.c): magics of one family, 24 bytes into a superblock at
// 4 KiB.
// - bcache (the block cache): the superblock's own offset field 8 (sectors) and a cache/backing
//   device version up to 6; later versions under the same magic are bcachefs. UUID and LABEL
//   as blkid.
// - bcachefs: copies at 1 MiB and 1 MiB before the end; validated by its recorded offset, device
//   index, size limits and checksum (none/crc32c/crc64/xxhash64). UUID is the user-visible uuid,
//   UUID_SUB this member's uuid from the members field. Follows util-linux libblkid 2.39+; the
//   installed blkid 2.38 does not know it.
#define XXH_INLINE_ALL  // header-only: no extra library for mos_sysvol to link
#include <xxhash.h>

#include <cstdio>
#include <string_view>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr std::string_view kBcacheMagic{
    "\xc6\x85\x73\xf6\x4e\x1a\x45\xca\x82\x65\xf5\x7f\x48\xba\x6d\x81", 16};
constexpr std::string_view kBcachefsMagic{
    "\xc6\x85\x73\xf6\x66\xce\x90\xa9\xd9\x6a\x60\xcf\x80\x3d\xf7\xef", 16};
constexpr uint64_t kMagicOffsetInSb = 24;

bool probe_bcache(ProbeSource& src, uint64_t hit, Found& out) {
  uint64_t sb = hit - kMagicOffsetInSb;
  auto b = src.get(sb, 104);
  if (b.empty() || load_le64(b.data() + 8) != sb / 512) return false;
  uint64_t version = load_le64(b.data() + 16);
  if (version > 6) return false;
  out.version = std::to_string(version);
  out.uuid = uuid_text(b.subspan(40, 16));
  out.label = label_text(b.subspan(72, 32));
  return true;
}

struct BcachefsSuperblock {
  uint8_t csum[16];
  le16 version;
  le16 version_min;
  le16 pad[2];
  uint8_t magic[16];      // 24
  uint8_t uuid[16];       // 40: internal uuid
  uint8_t user_uuid[16];  // 56
  uint8_t label[32];      // 72
  le64 offset;            // 104, in 512-byte sectors
  le64 seq;
  le16 block_size;        // 120
  uint8_t dev_idx;        // 122
  uint8_t nr_devices;     // 123
  le32 u64s;              // 124: size of the fields area in 8-byte words
  le64 time_base_lo;
  le32 time_base_hi;
  le32 time_precision;
  le64 flags[8];          // 144
  le64 features[2];
  le64 compat[2];
  // layout (512 bytes)
  uint8_t layout_magic[16];  // 240
  uint8_t layout_type;
  uint8_t sb_max_size_bits;  // 257
  uint8_t nr_superblocks;
  uint8_t layout_pad[5];
  le64 sb_offset[61];
};
static_assert(sizeof(BcachefsSuperblock) == 752);

constexpr uint32_t kFieldMembersV1 = 1, kFieldMembersV2 = 11;
constexpr uint16_t kMembersV1Bytes = 56;

// CRC-64/WE: polynomial 0x42F0E1EBA9EA3693, MSB first, init and xorout all ones.
uint64_t crc64_we(const uint8_t* p, size_t n) {
  uint64_t crc = ~uint64_t{0};
  for (size_t i = 0; i < n; ++i) {
    crc ^= uint64_t{p[i]} << 56;
    for (int k = 0; k < 8; ++k)
      crc = (crc & (uint64_t{1} << 63)) ? (crc << 1) ^ 0x42F0E1EBA9EA3693ull : crc << 1;
  }
  return ~crc;
}

bool checksum_ok(std::span<const uint8_t> sb) {
  const uint8_t* data = sb.data() + 16;
  size_t n = sb.size() - 16;
  switch (sb[144] >> 2) {  // BCH_SB_CSUM_TYPE: bits 2..7 of flags[0]
    case 1: return crc32c(data, n) == load_le32(sb.data());
    case 2: return crc64_we(data, n) == load_le64(sb.data());
    case 7: return XXH64(data, n, 0) == load_le64(sb.data());
    default: return true;  // none, or a type libblkid does not check either
  }
}

void member_uuid(std::span<const uint8_t> sb, const BcachefsSuperblock& h, Found& out) {
  size_t pos = sizeof(BcachefsSuperblock);
  while (pos + 8 <= sb.size()) {
    const uint8_t* f = sb.data() + pos;
    uint64_t bytes = uint64_t{load_le32(f)} * 8;
    uint32_t type = load_le32(f + 4);
    if (bytes < 8 || bytes > sb.size() - pos || type == 0) break;
    uint64_t member_bytes = 0, array_off = 0;
    if (type == kFieldMembersV1) member_bytes = kMembersV1Bytes, array_off = 8;
    if (type == kFieldMembersV2 && bytes >= 16) member_bytes = load_le16(f + 8), array_off = 16;
    if (member_bytes && bytes == array_off + uint64_t{h.nr_devices} * member_bytes && member_bytes >= 16)
      out.uuid_sub = uuid_text({f + array_off + uint64_t{h.dev_idx} * member_bytes, 16});
    pos += bytes;
  }
}

bool probe_bcachefs(ProbeSource& src, uint64_t hit, Found& out) {
  uint64_t sb_off = hit - kMagicOffsetInSb;
  auto head = src.get(sb_off, sizeof(BcachefsSuperblock));
  if (head.empty()) return false;
  const auto& h = *reinterpret_cast<const BcachefsSuperblock*>(head.data());
  if (h.offset.get() != sb_off / 512) return false;
  if (h.nr_devices == 0 || h.dev_idx >= h.nr_devices) return false;
  if (h.sb_max_size_bits > 16) return false;
  uint64_t sb_size = sizeof(BcachefsSuperblock) + uint64_t{h.u64s.get()} * 8;
  if (sb_size > (uint64_t{512} << h.sb_max_size_bits)) return false;
  auto sb = src.get(sb_off, sb_size);
  if (sb.empty() || !checksum_ok(sb)) return false;
  out.uuid = uuid_text(h.user_uuid);
  out.label = label_text(h.label);
  unsigned v = h.version.get();
  char text[16];
  std::snprintf(text, sizeof text, "%u.%u", v >> 10, v & 0x3ff);
  out.version = text;
  member_uuid(sb, h, out);
  return true;
}

constexpr Magic kBcacheMagics[] = {{kBcacheMagic, 4096 + kMagicOffsetInSb}};
// Early bcachefs wrote bcache's magic; the copies sit at 1 MiB and 1 MiB before the end.
constexpr Magic kBcachefsMagics[] = {{kBcacheMagic, 4096 + kMagicOffsetInSb},
                                     {kBcachefsMagic, 4096 + kMagicOffsetInSb},
                                     {kBcachefsMagic, kMiB + kMagicOffsetInSb},
                                     {kBcachefsMagic, kMiB - kMagicOffsetInSb, true}};

}  // namespace

extern constinit const Prober kBcache{"bcache", "other", 8192, kBcacheMagics, probe_bcache};
extern constinit const Prober kBcachefs{"bcachefs", "filesystem", 256 * 512, kBcachefsMagics,
                                        probe_bcachefs};

}  // namespace mos::fsmake::probe
