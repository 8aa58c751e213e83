// exFAT: "EXFAT   " at 3 with libblkid's boot-sector sanity checks (jump, must-be-zero area,
// FAT and cluster-heap geometry, root cluster, 0xAA55). UUID is the volume serial as XXXX-XXXX;
// LABEL (a root directory entry) is not read.
#include <cstdio>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct ExfatBootSector {
  uint8_t jump[3];
  uint8_t name[8];
  uint8_t must_be_zero[53];
  le64 partition_offset;      // 64
  le64 volume_length;         // 72
  le32 fat_offset;            // 80
  le32 fat_length;            // 84
  le32 cluster_heap_offset;   // 88
  le32 cluster_count;         // 92
  le32 root_cluster;          // 96
  uint8_t serial[4];          // 100
  le16 revision;              // 104
  le16 flags;                 // 106
  uint8_t bytes_per_sector_shift;     // 108
  uint8_t sectors_per_cluster_shift;  // 109
  uint8_t fats;               // 110
  uint8_t drive_select;
  uint8_t percent_in_use;
  uint8_t reserved[7];
  uint8_t boot_code[390];     // 120
  le16 boot_signature;        // 510
};
static_assert(sizeof(ExfatBootSector) == 512);

bool probe_exfat(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, sizeof(ExfatBootSector));
  if (b.empty()) return false;
  const auto& sb = *reinterpret_cast<const ExfatBootSector*>(b.data());
  if (sb.boot_signature.get() != 0xAA55 || std::memcmp(sb.jump, "\xEB\x76\x90", 3) != 0) return false;
  if (!all_zero(sb.must_be_zero)) return false;
  if (sb.fats < 1 || sb.fats > 2) return false;
  if (sb.bytes_per_sector_shift < 9 || sb.bytes_per_sector_shift > 12) return false;
  if (sb.sectors_per_cluster_shift > 25 - sb.bytes_per_sector_shift) return false;
  uint64_t fats_end = uint64_t{sb.fat_offset.get()} + uint64_t{sb.fat_length.get()} * sb.fats;
  if (sb.fat_offset.get() < 24 || fats_end > sb.cluster_heap_offset.get()) return false;
  if (sb.cluster_heap_offset.get() > (1u << 31)) return false;
  if (sb.root_cluster.get() < 2 || uint64_t{sb.root_cluster.get()} > uint64_t{sb.cluster_count.get()} + 1)
    return false;
  char u[16];
  std::snprintf(u, sizeof u, "%02X%02X-%02X%02X", sb.serial[3], sb.serial[2], sb.serial[1], sb.serial[0]);
  out.uuid = u;
  unsigned rev = sb.revision.get();
  out.version = std::to_string(rev >> 8) + "." + std::to_string(rev & 0xFF);
  return true;
}

constexpr Magic kMagics[] = {{"EXFAT   ", 3}};

}  // namespace

extern constinit const Prober kExfat{"exfat", "filesystem", 0, kMagics, probe_exfat};

}  // namespace mos::fsmake::probe
