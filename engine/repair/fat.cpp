// FAT32: the boot sector from its backup at BPB_BkBootSec (the prober's copy search found it
// valid), as fsck.fat offers. The primary FSInfo stays when its signatures hold (its free count
// is the current one; the backup's is as old as the format); otherwise it comes from the backup
// with the free cluster count counted from the FAT and the next-free hint unknown, so neither
// fsck.fat nor the kernel trusts a stale number.
#include <algorithm>
#include <cstring>

#include "engine/repair/formats.hpp"
#include "fsmake/fat32_disk.hpp"
#include "fsmake/probe/copies.hpp"

namespace mos::engine::repair {
namespace {

using fsmake::fat32::BootSector;
using fsmake::fat32::FsInfo;

constexpr uint32_t kUnknown = 0xFFFFFFFF;
constexpr uint64_t kFatChunk = 1 << 20;

bool fsinfo_valid(std::span<const uint8_t> b) {
  if (b.size() < sizeof(FsInfo)) return false;
  const auto& f = *reinterpret_cast<const FsInfo*>(b.data());
  return f.lead_signature.get() == fsmake::fat32::kFsInfoLead && f.struct_signature.get() == fsmake::fat32::kFsInfoStruct &&
         f.trail_signature.get() == fsmake::fat32::kFsInfoTrail;
}

// Free clusters in the active FAT the boot sector describes (entries 2 .. clusters + 1 that are 0).
uint32_t count_free_clusters(const io::Fd& fd, const BootSector& bs, const std::string& device) {
  const uint64_t ss = bs.bytes_per_sector.get();
  const uint64_t fat_sectors = bs.fat_size32.get();
  const uint64_t meta = uint64_t{bs.reserved_sectors.get()} + uint64_t{bs.fat_count} * fat_sectors;
  if (bs.sectors_per_cluster == 0 || bs.total_sectors32.get() <= meta || bs.fat_count == 0)
    refuse(device, "the backup boot sector describes no data area");
  const uint64_t clusters = (bs.total_sectors32.get() - meta) / bs.sectors_per_cluster;
  if ((clusters + 2) * 4 > fat_sectors * ss) refuse(device, "the backup boot sector's FAT is too small for its clusters");
  const unsigned active = (bs.ext_flags.get() & 0x80) ? (bs.ext_flags.get() & 0x0F) : 0;  // mirroring off: one FAT
  const uint64_t fat_start = (bs.reserved_sectors.get() + uint64_t{active} * fat_sectors) * ss;
  uint32_t free_clusters = 0;
  const uint64_t end = (clusters + 2) * 4;
  for (uint64_t pos = 0; pos < end; pos += kFatChunk) {
    std::vector<uint8_t> chunk = fd.pread_vec(static_cast<size_t>(std::min(kFatChunk, end - pos)), fat_start + pos);
    for (size_t i = pos == 0 ? 8 : 0; i + 4 <= chunk.size(); i += 4)
      if ((load_le32(chunk.data() + i) & fsmake::fat32::kFatEntryMask) == 0) ++free_clusters;
  }
  return free_clusters;
}

}  // namespace

FormatRepair fat_repair(fsmake::ProbeSource& src, const io::Fd& fd, const std::string& device) {
  fsmake::probe::CopyFound copy;
  if (!fsmake::probe::find_copy_of(src, "vfat", copy))
    refuse(device, "no valid FAT32 backup boot sector found (BPB_BkBootSec, sector 6): nothing to repair from");
  auto backup = src.get(copy.offset, sizeof(BootSector));
  const BootSector bs = *reinterpret_cast<const BootSector*>(backup.data());
  const uint32_t ss = bs.bytes_per_sector.get();
  const uint32_t bk = bs.backup_boot_sector.get();
  auto sector = src.get(copy.offset, ss);

  FormatRepair out;
  out.source = copy.where;
  out.plan.name = "repair";
  const uint32_t fsinfo = bs.fsinfo_sector.get();
  if (fsinfo != 0 && fsinfo != 0xFFFF && fsinfo < bk) {
    auto primary_info = src.get(uint64_t{fsinfo} * ss, ss);
    auto backup_info = src.get(uint64_t{bk + fsinfo} * ss, ss);
    if (fsinfo_valid(primary_info)) {
      out.notes.push_back("FSInfo (sector " + std::to_string(fsinfo) + ") is intact and kept: its free cluster count is the current one");
    } else if (fsinfo_valid(backup_info)) {
      std::vector<uint8_t> info(backup_info.begin(), backup_info.end());
      auto& f = *reinterpret_cast<FsInfo*>(info.data());
      f.free_count = count_free_clusters(fd, bs, device);
      f.next_free = kUnknown;
      out.notes.push_back("FSInfo rewritten from its backup (sector " + std::to_string(bk + fsinfo) + ") with " +
                          std::to_string(f.free_count.get()) + " free clusters counted from the FAT and the next-free hint unknown");
      out.plan.step("fsinfo").writes.push_back({uint64_t{fsinfo} * ss, std::move(info),
                                                "FSInfo (sector " + std::to_string(fsinfo) + ", from its backup)"});
    } else {
      out.notes.push_back("neither FSInfo copy is valid; left as it is (fsck.fat rebuilds it)");
    }
  }
  out.plan.step("boot-sector").writes.push_back({0, std::vector<uint8_t>(sector.begin(), sector.end()),
                                                  "FAT32 boot sector (sector 0, from the backup in sector " + std::to_string(bk) + ")"});
  return out;
}

}  // namespace mos::engine::repair
