// The FAT32 backup boot sector (BPB_BkBootSec, sector 6 as every formatter writes it) and its
// FSInfo copy in the sector after it. Where to look comes from the primary when its BPB still
// names a plausible sector size and backup sector, else sector 6 of 512-byte, 4096-byte and the
// device's sectors. A backup counts when it has the FAT32 magic and 55 AA, names its own
// position, and describes a valid FAT32 (the vfat prober's checks, FSInfo from the copy).
#include <algorithm>
#include <cstring>
#include <vector>

#include "fsmake/probe/copies.hpp"
#include "fsmake/probe/vfat.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kUsualBackupSector = 6;

bool plausible_sector_size(uint32_t s) { return s >= 512 && s <= 4096 && (s & (s - 1)) == 0; }

// Candidate (sector size, backup sector) pairs, most specific first.
std::vector<std::pair<uint32_t, uint32_t>> candidates(ProbeSource& src) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  if (auto b = src.get(0, 512); !b.empty()) {
    const auto& vs = *reinterpret_cast<const Fat32Bpb*>(b.data());
    const auto& ms = *reinterpret_cast<const FatBootSector*>(b.data());
    uint32_t ss = ms.sector_size, bk = vs.backup_boot;
    if (plausible_sector_size(ss) && bk > 1 && bk < 64) out.push_back({ss, bk});
  }
  for (uint32_t ss : {512u, 4096u, src.sector_size()})
    if (plausible_sector_size(ss)) out.push_back({ss, kUsualBackupSector});
  return out;
}

}  // namespace

bool vfat_copy(ProbeSource& src, CopyFound& out) {
  std::vector<uint64_t> tried;
  for (auto [ss, bk] : candidates(src)) {
    const uint64_t off = uint64_t{bk} * ss;
    if (std::find(tried.begin(), tried.end(), off) != tried.end()) continue;
    tried.push_back(off);
    auto b = src.get(off, 512);
    if (b.empty() || std::memcmp(b.data() + 0x52, "FAT32   ", 8) != 0 || b[0x1fe] != 0x55 || b[0x1ff] != 0xAA) continue;
    const auto& vs = *reinterpret_cast<const Fat32Bpb*>(b.data());
    const auto& ms = *reinterpret_cast<const FatBootSector*>(b.data());
    if (ms.sector_size.get() != ss || vs.backup_boot.get() != bk) continue;
    Found f;
    if (!vfat_parse_backup(src, off, off + ss, f)) continue;
    out = CopyFound{};
    out.type = "vfat";
    out.usage = "filesystem";
    out.found = std::move(f);
    out.offset = off;
    out.where = "copy at " + std::to_string(off) + " (FAT32 backup boot sector, sector " + std::to_string(bk) + ")";
    return true;
  }
  return false;
}

void vfat_copy_signatures(ProbeSource& src, std::vector<Signature>& out) {
  CopyFound c;
  if (vfat_copy(src, c)) out.push_back(make_signature("vfat", c.offset + 0x52, src.get(c.offset + 0x52, 8)));
}

}  // namespace mos::fsmake::probe
