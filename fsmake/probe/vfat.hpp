// The FAT boot sector as the vfat prober and the backup-boot-sector search read it (Microsoft's
// FAT specification: BPB, the FAT12/16 and FAT32 extended BPBs).
#pragma once
#include <cstdint>

#include "base/bytes.hpp"
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

// The DOS 4.0 extended BPB: at 0x24 on FAT12/16, at 0x40 on FAT32.
struct ExtendedBpb {
  uint8_t drive_number;
  uint8_t boot_flags;
  uint8_t ext_boot_sign;  // 0x28 (serial only) or 0x29 (serial, label, type)
  uint8_t serno[4];
  uint8_t label[11];
  uint8_t magic[8];
};
static_assert(sizeof(ExtendedBpb) == 26);

struct FatBootSector {
  uint8_t jump[3];
  uint8_t oem[8];
  le16 sector_size;        // 0x0b
  uint8_t cluster_size;    // 0x0d
  le16 reserved;           // 0x0e
  uint8_t fats;            // 0x10
  le16 dir_entries;        // 0x11
  le16 sectors;            // 0x13
  uint8_t media;           // 0x15
  le16 fat_length;         // 0x16
  le16 secs_track;         // 0x18
  le16 heads;              // 0x1a
  le32 hidden;             // 0x1c
  le32 total_sect;         // 0x20
  ExtendedBpb ext;         // 0x24 (FAT12/16)
  uint8_t pad[0x1fe - 0x3e];
  uint8_t pmagic[2];       // 0x1fe
};
static_assert(sizeof(FatBootSector) == 512);

struct Fat32Bpb {  // the same sector seen with the FAT32 extended BPB at 0x24
  uint8_t head[0x24];
  le32 fat32_length;       // 0x24
  le16 flags;              // 0x28
  uint8_t version[2];      // 0x2a
  le32 root_cluster;       // 0x2c
  le16 fsinfo_sector;      // 0x30
  le16 backup_boot;        // 0x32
  uint8_t reserved2[12];   // 0x34
  ExtendedBpb ext;         // 0x40
  uint8_t pad[0x200 - 0x5a];
};
static_assert(sizeof(Fat32Bpb) == 512);

// A FAT32 whose boot sector is the backup at boot_off, with its FSInfo at fsinfo_off (the
// backup's own, the sector after it): label, UUID and version as from a healthy primary.
bool vfat_parse_backup(ProbeSource& src, uint64_t boot_off, uint64_t fsinfo_off, Found& out);

}  // namespace mos::fsmake::probe
