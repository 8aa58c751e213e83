// vfat (FAT12/16/32). LABEL comes from the volume-label entry of the root directory (as
// libblkid), not from the boot sector; UUID is the volume serial as XXXX-XXXX; FAT12/16 carry
// SEC_TYPE=msdos. The FAT type follows from the cluster count.
#include <cstdio>
#include <cstring>

#include "fsmake/probe/ptable.hpp"
#include "fsmake/probe/vfat.hpp"

namespace mos::fsmake::probe {
namespace {

struct FatDirEntry {
  uint8_t name[11];
  uint8_t attr;
  uint8_t times[8];
  le16 cluster_high;
  uint8_t times2[4];
  le16 cluster_low;
  le32 size;
};
static_assert(sizeof(FatDirEntry) == 32);

constexpr uint32_t kFat12Max = 0xFF4, kFat16Max = 0xFFF4, kFat32Max = 0x0FFFFFF6;
constexpr uint8_t kAttrVolumeId = 0x08, kAttrDir = 0x10, kAttrLongName = 0x0f, kAttrMask = 0x3f;

bool power_of_2(uint32_t v) { return v && !(v & (v - 1)); }

struct Geometry {
  uint32_t cluster_count = 0, fat_size = 0;
};

// libblkid's fat_valid_superblock, with its 32-bit arithmetic.
bool valid_superblock(const FatBootSector& ms, const Fat32Bpb& vs, Geometry& g) {
  if (!ms.fats || !ms.reserved.get()) return false;
  if (!(ms.media >= 0xf8 || ms.media == 0xf0)) return false;
  if (!power_of_2(ms.cluster_size)) return false;
  uint32_t sector_size = ms.sector_size;
  if (!power_of_2(sector_size) || sector_size < 512 || sector_size > 4096) return false;
  uint32_t dir_entries = ms.dir_entries, reserved = ms.reserved;
  uint32_t sect_count = ms.sectors;
  if (sect_count == 0) sect_count = ms.total_sect;
  uint32_t fat_length = ms.fat_length;
  if (fat_length == 0) fat_length = vs.fat32_length;
  uint32_t fat_size = fat_length * ms.fats;
  uint32_t dir_size = (dir_entries * 32 + (sector_size - 1)) / sector_size;
  uint32_t clusters = (sect_count - (reserved + fat_size + dir_size)) / ms.cluster_size;
  uint32_t max_count;
  if (!ms.fat_length.get() && vs.fat32_length.get())
    max_count = kFat32Max;
  else
    max_count = clusters > kFat12Max ? kFat16Max : kFat12Max;
  if (clusters > max_count) return false;
  g.cluster_count = clusters;
  g.fat_size = fat_size;
  return true;
}

// Magics shorter than 3 bytes (jump opcode, 0x55AA) need extra evidence (libblkid).
bool weak_magic_ok(const FatBootSector& ms) {
  if (ms.pmagic[0] != 0x55 || ms.pmagic[1] != 0xAA) return false;
  return std::memcmp(ms.ext.magic, "JFS     ", 8) != 0 && std::memcmp(ms.ext.magic, "HPFS    ", 8) != 0;
}

// Volume-label entry of a directory region; false if absent or unreadable.
bool search_label(ProbeSource& src, uint64_t offset, uint32_t entries, uint8_t out[11]) {
  auto dir = src.get(offset, uint64_t{entries} * 32);
  if (dir.empty()) return false;
  for (uint32_t i = 0; i < entries; ++i) {
    const auto* e = reinterpret_cast<const FatDirEntry*>(dir.data() + uint64_t{i} * 32);
    if (e->name[0] == 0x00) break;
    if (e->name[0] == 0xe5 || e->cluster_high.get() || e->cluster_low.get() ||
        (e->attr & kAttrMask) == kAttrLongName)
      continue;
    if ((e->attr & (kAttrVolumeId | kAttrDir)) == kAttrVolumeId) {
      std::memcpy(out, e->name, 11);
      if (out[0] == 0x05) out[0] = 0xe5;
      return true;
    }
  }
  return false;
}

// The boot sector at boot_off (0, or a backup) and the FSInfo sector at fsinfo_off (0: where
// that boot sector says) describe a filesystem that starts at 0.
bool parse(ProbeSource& src, uint64_t magic_offset, Found* out, uint64_t boot_off = 0, uint64_t fsinfo_off = 0) {
  auto b = src.get(boot_off, 512);
  if (b.empty()) return false;
  const auto& ms = *reinterpret_cast<const FatBootSector*>(b.data());
  const auto& vs = *reinterpret_cast<const Fat32Bpb*>(b.data());
  bool weak = magic_offset == 0 || magic_offset == 0x1fe;
  if (weak && !weak_magic_ok(ms)) return false;
  Geometry g;
  if (!valid_superblock(ms, vs, g)) return false;
  if (!out) return true;

  uint32_t sector_size = ms.sector_size, reserved = ms.reserved;
  uint8_t vol_label[11];
  bool have_label = false;
  const uint8_t* serno = nullptr;
  if (ms.fat_length.get()) {
    uint32_t root_start = (reserved + g.fat_size) * sector_size;
    have_label = search_label(src, root_start, ms.dir_entries, vol_label);
    if (ms.ext.ext_boot_sign == 0x28 || ms.ext.ext_boot_sign == 0x29) serno = ms.ext.serno;
    out->sec_type = "msdos";
    if (g.cluster_count < kFat12Max)
      out->version = "FAT12";
    else if (g.cluster_count < kFat16Max)
      out->version = "FAT16";
  } else if (vs.fat32_length.get()) {
    uint32_t buf_size = uint32_t{vs.head[0x0d]} * sector_size;
    uint32_t start_data_sect = reserved + g.fat_size;
    uint32_t entries = static_cast<uint32_t>((uint64_t{vs.fat32_length} * sector_size) / 4);
    uint32_t next = vs.root_cluster;
    // Follow the root directory's cluster chain through the FAT (bounded, like libblkid).
    for (int maxloop = 100; next && next < entries && --maxloop;) {
      uint32_t next_sect_off = (next - 2) * vs.head[0x0d];
      uint64_t next_off = uint64_t{start_data_sect + next_sect_off} * sector_size;
      if (search_label(src, next_off, buf_size / 32, vol_label)) {
        have_label = true;
        break;
      }
      uint64_t fat_entry_off = uint64_t{reserved} * sector_size + uint64_t{next} * 4;
      auto fe = src.get(fat_entry_off, buf_size);
      if (fe.size() < 4) break;
      next = load_le32(fe.data()) & 0x0fffffff;
    }
    out->version = "FAT32";
    serno = vs.ext.serno;
    if (uint32_t fsinfo = vs.fsinfo_sector; fsinfo) {
      auto fi = src.get(fsinfo_off ? fsinfo_off : uint64_t{fsinfo} * sector_size, 512);
      if (fi.empty()) return false;
      static const uint8_t zero[4] = {};
      if (std::memcmp(fi.data(), "RRaA", 4) && std::memcmp(fi.data(), "RRdA", 4) &&
          std::memcmp(fi.data(), zero, 4))
        return false;
      if (std::memcmp(fi.data() + 484, "rrAa", 4) && std::memcmp(fi.data() + 484, zero, 4))
        return false;
    }
  }
  // The boot-sector label is blkid's LABEL_FATBOOT; LABEL is only the root-directory entry.
  if (have_label) out->label = oem_label_text(vol_label);
  if (serno && !all_zero({serno, 4})) {
    char u[16];
    std::snprintf(u, sizeof u, "%02X%02X-%02X%02X", serno[3], serno[2], serno[1], serno[0]);
    out->uuid = u;
  }
  return true;
}

bool probe_vfat(ProbeSource& src, uint64_t hit_offset, Found& out) {
  return parse(src, hit_offset, &out);
}

// The file-system type names of the FAT32 and FAT12/16 extended BPBs, then the weak magics
// (jump opcode, 55 AA) that need parse's extra evidence.
constexpr Magic kMagics[] = {
    {"MSWIN", 0x52},    {"FAT32   ", 0x52}, {"MSDOS", 0x36}, {"FAT16   ", 0x36}, {"FAT12   ", 0x36},
    {"FAT     ", 0x36}, {"\353", 0},         {"\351", 0},    {"\125\252", 0x1fe}};

}  // namespace

bool vfat_parse_backup(ProbeSource& src, uint64_t boot_off, uint64_t fsinfo_off, Found& out) {
  // Only FAT32 keeps a backup: its strong magic at 0x52 (no weak-magic evidence needed).
  return parse(src, 0x52, &out, boot_off, fsinfo_off);
}

extern constinit const Prober kVfat{"vfat", "filesystem", 0, kMagics, probe_vfat};

bool is_vfat(ProbeSource& src) {
  // The first magic present decides, as in libblkid's idmag lookup.
  for (const Magic& m : kMagics) {
    uint64_t hit = 0;
    if (magic_present(src, m, hit)) return parse(src, hit, nullptr);
  }
  return false;
}

}  // namespace mos::fsmake::probe
