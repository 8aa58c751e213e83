// Linux md RAID member superblocks (linux/raid/md_p.h). v0.90 sits in the last 64 KiB-aligned
// 64 KiB of the device; v1.0 8 KiB before the 4 KiB-aligned end; v1.1 at 0; v1.2 at 4 KiB.
// UUID is printed as one 16-byte UUID; 1.x adds UUID_SUB (device uuid) and LABEL (array name).
#include <cstdio>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kMdMagic = 0xa92b4efc;
constexpr uint64_t kMdReservedBytes = 0x10000;

struct Md0Superblock {  // host-endian on disk (either byte order is accepted)
  uint32_t md_magic;
  uint32_t major_version;
  uint32_t minor_version;
  uint32_t patch_version;
  uint32_t gvalid_words;
  uint32_t set_uuid0;
  uint32_t ctime;
  uint32_t level;
  uint32_t size;  // KiB used on each member
  uint32_t nr_disks;
  uint32_t raid_disks;
  uint32_t md_minor;
  uint32_t not_persistent;
  uint32_t set_uuid1;
  uint32_t set_uuid2;
  uint32_t set_uuid3;
};
static_assert(sizeof(Md0Superblock) == 64);

struct Md1Superblock {
  le32 magic;
  le32 major_version;
  le32 feature_map;
  le32 pad0;
  uint8_t set_uuid[16];   // 0x10
  uint8_t set_name[32];   // 0x20
  uint8_t array_info[128 - 64];
  le64 data_offset;       // 0x80
  le64 data_size;
  le64 super_offset;      // 0x90, in 512-byte sectors
  le64 recovery_offset;
  le32 dev_number;
  le32 cnt_corrected_read;
  uint8_t device_uuid[16];  // 0xa8
};
static_assert(sizeof(Md1Superblock) == 0xb8);

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

bool probe_md0(ProbeSource& src, uint64_t off, Found& out) {
  if (src.size() < kMdReservedBytes) return false;
  auto b = src.get(off, sizeof(Md0Superblock));
  if (b.empty()) return false;
  const uint8_t* p = b.data();
  bool little = load_le32(p) == kMdMagic, big = load_be32(p) == kMdMagic;
  if (!little && !big) return false;
  auto field = [&](size_t i) { return little ? load_le32(p + 4 * i) : load_be32(p + 4 * i); };
  uint32_t ma = field(1), mi = field(2), pa = field(3);
  uint64_t size = uint64_t{field(8)} << 10;
  if (src.size() < size + kMdReservedBytes || off < size) return false;
  // The set uuid words are printed most significant byte first.
  uint8_t uuid[16] = {};
  put_be32(uuid, field(5));
  if (mi >= 90) put_be32(uuid + 4, field(13)), put_be32(uuid + 8, field(14)), put_be32(uuid + 12, field(15));
  char v[40];
  std::snprintf(v, sizeof v, "%u.%u.%u", ma, mi, pa);
  out.version = v;
  out.uuid = uuid_text(uuid);
  out.sigs.push_back(make_signature("linux_raid_member", off, b.first(4)));
  return true;
}

bool probe_md1(ProbeSource& src, uint64_t off, Found& out) {
  auto b = src.get(off, sizeof(Md1Superblock));
  if (b.empty()) return false;
  const auto& sb = *reinterpret_cast<const Md1Superblock*>(b.data());
  if (sb.magic.get() != kMdMagic || sb.major_version.get() != 1) return false;
  if (sb.super_offset.get() != off >> 9) return false;
  out.uuid = uuid_text(sb.set_uuid);
  out.uuid_sub = uuid_text(sb.device_uuid);
  out.label = label_text(sb.set_name);
  out.sigs.push_back(make_signature("linux_raid_member", off, b.first(4)));
  return true;
}

bool probe_md(ProbeSource& src, uint64_t, Found& out) {
  uint64_t size = src.size();
  if (size > kMdReservedBytes) {
    if (probe_md0(src, (size & ~(kMdReservedBytes - 1)) - kMdReservedBytes, out)) return true;
    if (probe_md1(src, (size & ~uint64_t{0xfff}) - 0x2000, out)) {
      out.version = "1.0";
      return true;
    }
  }
  if (probe_md1(src, 0, out)) {
    out.version = "1.1";
    return true;
  }
  if (probe_md1(src, 0x1000, out)) {
    out.version = "1.2";
    return true;
  }
  return false;
}

}  // namespace

extern constinit const Prober kLinuxRaid{"linux_raid_member", "raid", 0, {}, probe_md};

}  // namespace mos::fsmake::probe
