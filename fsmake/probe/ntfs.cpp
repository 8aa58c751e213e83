// NTFS: "NTFS    " OEM id at 3, a BIOS parameter block whose FAT-only fields are zero, and a
// "FILE" record where the BPB puts the MFT (libblkid ntfs.c). UUID is the 64-bit volume serial
// in upper-case hex; LABEL (the $Volume record's name attribute) is not read.
#include <cstdio>
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct NtfsBootSector {
  uint8_t jump[3];
  uint8_t oem_id[8];
  le16 sector_size;            // 0x0b
  uint8_t sectors_per_cluster;  // 0x0d
  le16 reserved_sectors;       // 0x0e
  uint8_t fats;                // 0x10
  le16 root_entries;           // 0x11
  le16 sectors;                // 0x13
  uint8_t media_type;          // 0x15
  le16 sectors_per_fat;        // 0x16
  le16 sectors_per_track;      // 0x18
  le16 heads;                  // 0x1a
  le32 hidden_sectors;         // 0x1c
  le32 large_sectors;          // 0x20
  uint8_t unused[4];           // 0x24
  le64 number_of_sectors;      // 0x28
  le64 mft_cluster;            // 0x30
  le64 mft_mirror_cluster;     // 0x38
  int8_t clusters_per_mft_record;  // 0x40
  uint8_t reserved1[3];
  int8_t clusters_per_index_record;  // 0x44
  uint8_t reserved2[3];
  le64 volume_serial;          // 0x48
};
static_assert(sizeof(NtfsBootSector) == 0x50);

constexpr uint32_t kMaxClusterBytes = 2u << 20;

bool probe_ntfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, sizeof(NtfsBootSector));
  if (b.empty()) return false;
  const auto& ns = *reinterpret_cast<const NtfsBootSector*>(b.data());
  uint32_t sector_size = ns.sector_size;
  if (sector_size < 256 || sector_size > 4096 || (sector_size & (sector_size - 1))) return false;
  uint32_t spc = ns.sectors_per_cluster;
  if (spc == 0 || (spc & (spc - 1)) != 0) {
    if (spc < 240 || spc > 249) return false;
    spc = 1u << (256 - spc);
  }
  if (uint64_t{sector_size} * spc > kMaxClusterBytes) return false;
  if (ns.reserved_sectors.get() || ns.root_entries.get() || ns.sectors.get() ||
      ns.sectors_per_fat.get() || ns.large_sectors.get() || ns.fats)
    return false;
  int8_t cpm = ns.clusters_per_mft_record;
  uint64_t mft_record_size;
  if (cpm > 0) {  // clusters per record: a power of two up to 64
    if (cpm > 64 || (cpm & (cpm - 1))) return false;
    mft_record_size = uint64_t(cpm) * spc * sector_size;
  } else {  // 2^-cpm bytes, -31..-9
    if (cpm < -31 || cpm > -9) return false;
    mft_record_size = uint64_t{1} << -cpm;
  }
  uint64_t clusters = ns.number_of_sectors.get() / spc;
  if (ns.mft_cluster.get() > clusters || ns.mft_mirror_cluster.get() > clusters) return false;
  uint64_t mft_off = ns.mft_cluster.get() * sector_size * spc;
  auto mft = src.get(mft_off, std::min<uint64_t>(mft_record_size, 4));
  if (mft.size() < 4 || std::memcmp(mft.data(), "FILE", 4) != 0) return false;
  char u[17];
  std::snprintf(u, sizeof u, "%016llX", static_cast<unsigned long long>(ns.volume_serial.get()));
  out.uuid = u;
  return true;
}

constexpr Magic kMagics[] = {{"NTFS    ", 3}};

}  // namespace

extern constinit const Prober kNtfs{"ntfs", "filesystem", 0, kMagics, probe_ntfs};

}  // namespace mos::fsmake::probe
