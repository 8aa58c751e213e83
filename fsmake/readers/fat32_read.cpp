// FAT32 reader/validator: checks what a fresh (or healthy) FAT32 volume must satisfy.
#include <cstring>
#include <vector>

#include "fsmake/readers/fat32_read.hpp"
#include "fsmake/fat32_disk.hpp"
#include "base/error.hpp"

namespace mos::fsmake::fat32 {
namespace {

[[noreturn]] void bad(const std::string& what) { throw_validation("not a valid FAT32 volume: " + what); }

std::string trim_right(const char* p, size_t n) {
  std::string s(p, n);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

bool power_of_two(uint32_t v) { return v && !(v & (v - 1)); }

Layout layout_from_bpb(const BootSector& b) {
  Layout l;
  l.sector_size = b.bytes_per_sector;
  l.sectors_per_cluster = b.sectors_per_cluster;
  l.reserved_sectors = b.reserved_sectors;
  l.fat_count = b.fat_count;
  l.fat_sectors = b.fat_size32;
  l.total_sectors = b.total_sectors32;
  l.sectors_per_track = b.sectors_per_track;
  l.heads = b.heads;
  if (b.jump[0] != 0xEB && b.jump[0] != 0xE9) bad("boot sector has no x86 jump instruction");
  if (b.signature != kBootSignature) bad("boot sector lacks the 0x55AA signature at offset 510");
  if (l.sector_size < 512 || l.sector_size > 4096 || !power_of_two(l.sector_size))
    bad("bytes per sector " + std::to_string(l.sector_size) + " is not 512..4096");
  if (!power_of_two(l.sectors_per_cluster) || l.cluster_bytes() > 65536)
    bad("sectors per cluster " + std::to_string(l.sectors_per_cluster) + " is invalid");
  if (l.reserved_sectors < 8) bad("FAT32 needs reserved sectors for FSInfo and backup, found " + std::to_string(l.reserved_sectors));
  if (l.fat_count < 1) bad("no FAT copies");
  if (b.root_entries != 0 || b.total_sectors16 != 0 || b.fat_size16 != 0)
    bad("FAT12/16 fields are set (root entries, 16-bit sizes)");
  if (l.fat_sectors == 0 || l.total_sectors == 0) bad("FAT size or total sector count is zero");
  uint64_t data_start = l.data_offset() / l.sector_size;
  if (data_start >= l.total_sectors) bad("FATs extend past the end of the volume");
  l.cluster_count = static_cast<uint32_t>((l.total_sectors - data_start) / l.sectors_per_cluster);
  if (l.cluster_count < kMinClusters)
    bad(std::to_string(l.cluster_count) + " clusters is FAT12/16, not FAT32");
  if (l.cluster_count > kMaxClusters) bad(std::to_string(l.cluster_count) + " clusters exceeds FAT32's limit");
  if (uint64_t{l.fat_sectors} * l.sector_size / 4 < uint64_t{l.cluster_count} + 2)
    bad("the FAT is too small for " + std::to_string(l.cluster_count) + " clusters");
  return l;
}

}  // namespace

VolumeInfo read_volume(const ReadFn& read) {
  std::vector<uint8_t> first(512);
  read(0, first.data(), first.size());
  BootSector b;
  std::memcpy(&b, first.data(), sizeof b);
  VolumeInfo v;
  v.layout = layout_from_bpb(b);
  const Layout& l = v.layout;
  const uint32_t ss = l.sector_size;
  if (b.boot_signature != 0x29) bad("extended boot signature is not 0x29");
  if (std::memcmp(b.fs_type, "FAT32   ", 8) != 0) bad("file system type string is not 'FAT32   '");
  v.volume_id = b.volume_id;
  v.boot_label = trim_right(b.volume_label, 11);
  v.hidden_sectors = b.hidden_sectors;
  v.root_cluster = b.root_cluster;
  if (v.root_cluster < 2 || v.root_cluster > l.cluster_count + 1) bad("root cluster out of range");

  std::vector<uint8_t> boot(ss), backup(ss), info(ss), info_backup(ss);
  read(0, boot.data(), ss);
  if (ss > 512 && load_le16(&boot[ss - 2]) != kBootSignature) bad("boot sector does not end with 0x55AA");
  if (b.fsinfo_sector == 0 || b.fsinfo_sector >= l.reserved_sectors) bad("FSInfo sector out of range");
  read(uint64_t{b.fsinfo_sector} * ss, info.data(), ss);
  FsInfo f;
  std::memcpy(&f, info.data(), sizeof f);
  if (f.lead_signature != kFsInfoLead || f.struct_signature != kFsInfoStruct || f.trail_signature != kFsInfoTrail)
    bad("FSInfo signatures are wrong");
  v.free_count = f.free_count;
  v.next_free = f.next_free;
  if (v.free_count != 0xFFFFFFFF && v.free_count > l.cluster_count) bad("FSInfo free count exceeds the cluster count");

  const uint32_t bk = b.backup_boot_sector;
  if (bk == 0 || bk + 1 >= l.reserved_sectors) bad("backup boot sector out of range");
  read(uint64_t{bk} * ss, backup.data(), ss);
  if (backup != boot) bad("backup boot sector (sector " + std::to_string(bk) + ") differs from sector 0");
  read(uint64_t{bk + b.fsinfo_sector} * ss, info_backup.data(), ss);
  if (std::memcmp(info_backup.data(), info.data(), 484) != 0 ||
      load_le32(&info_backup[484]) != kFsInfoStruct || load_le32(&info_backup[508]) != kFsInfoTrail)
    bad("backup FSInfo is not a valid copy");

  std::vector<uint8_t> fat_head(ss), other(ss);
  read(l.fat_offset(0), fat_head.data(), ss);
  if ((load_le32(&fat_head[0]) & kFatEntryMask) != (0x0FFFFF00u | b.media)) bad("FAT[0] does not carry the media byte");
  if ((load_le32(&fat_head[4]) & kFatEntryMask) < kEndOfChain) bad("FAT[1] is not an end-of-chain marker");
  for (uint32_t i = 1; i < l.fat_count; ++i) {
    read(l.fat_offset(i), other.data(), ss);
    if (other != fat_head) bad("FAT #" + std::to_string(i + 1) + " differs from FAT #1");
  }
  uint64_t root_entry = uint64_t{v.root_cluster} * 4;
  uint32_t root_next = 0;
  read(l.fat_offset(0) + root_entry, &root_next, 4);
  root_next &= kFatEntryMask;
  if (root_next < 2 || (root_next > l.cluster_count + 1 && root_next < kEndOfChain))
    bad("root directory cluster chain is broken");

  std::vector<uint8_t> root(l.cluster_bytes());
  read(l.cluster_offset(v.root_cluster), root.data(), root.size());
  for (size_t off = 0; off + sizeof(DirEntry) <= root.size(); off += sizeof(DirEntry)) {
    DirEntry e;
    std::memcpy(&e, &root[off], sizeof e);
    if (static_cast<uint8_t>(e.name[0]) == 0x00) break;
    if (static_cast<uint8_t>(e.name[0]) == 0xE5 || (e.attr & 0x0F) == 0x0F) continue;  // deleted / LFN
    if (e.attr & kAttrVolumeId) { v.root_label = trim_right(e.name, 11); break; }
  }
  return v;
}

}  // namespace mos::fsmake::fat32
