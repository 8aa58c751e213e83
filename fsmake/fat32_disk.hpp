// FAT32 on-disk structures (Microsoft "FAT: General Overview of On-Disk Format", fatgen103):
// boot sector with the FAT32 BPB, FSInfo sector, 32-byte directory entry. All little-endian.
#pragma once
#include <cstdint>

#include "base/bytes.hpp"

namespace mos::fsmake::fat32 {

#pragma pack(push, 1)
struct BootSector {
  uint8_t jump[3];            // EB xx 90: blkid and the kernel want a jump here
  char oem_name[8];
  le16 bytes_per_sector;
  uint8_t sectors_per_cluster;
  le16 reserved_sectors;
  uint8_t fat_count;
  le16 root_entries;          // 0 on FAT32: the root directory is a cluster chain
  le16 total_sectors16;       // 0 on FAT32
  uint8_t media;
  le16 fat_size16;            // 0 on FAT32
  le16 sectors_per_track;
  le16 heads;
  le32 hidden_sectors;
  le32 total_sectors32;
  le32 fat_size32;
  le16 ext_flags;             // 0: FAT mirroring on, all FATs active
  le16 fs_version;
  le32 root_cluster;
  le16 fsinfo_sector;
  le16 backup_boot_sector;
  uint8_t reserved[12];
  uint8_t drive_number;
  uint8_t reserved1;
  uint8_t boot_signature;     // 0x29: volume id, label and fs type below are valid
  le32 volume_id;
  char volume_label[11];
  char fs_type[8];            // "FAT32   " (informational; the cluster count decides the type)
  uint8_t boot_code[420];
  le16 signature;             // 0xAA55 (bytes 55 AA)
};
static_assert(sizeof(BootSector) == 512);

struct FsInfo {
  le32 lead_signature;        // 0x41615252 "RRaA"
  uint8_t reserved1[480];
  le32 struct_signature;      // 0x61417272 "rrAa"
  le32 free_count;            // free clusters, 0xFFFFFFFF = unknown
  le32 next_free;             // hint: last allocated cluster
  uint8_t reserved2[12];
  le32 trail_signature;       // 0xAA550000
};
static_assert(sizeof(FsInfo) == 512);

struct DirEntry {
  char name[11];
  uint8_t attr;
  uint8_t nt_reserved;
  uint8_t create_time_tenths;
  le16 create_time;
  le16 create_date;
  le16 access_date;
  le16 first_cluster_hi;
  le16 write_time;
  le16 write_date;
  le16 first_cluster_lo;
  le32 file_size;
};
static_assert(sizeof(DirEntry) == 32);
#pragma pack(pop)

inline constexpr uint32_t kFsInfoLead = 0x41615252;
inline constexpr uint32_t kFsInfoStruct = 0x61417272;
inline constexpr uint32_t kFsInfoTrail = 0xAA550000;
inline constexpr uint16_t kBootSignature = 0xAA55;
inline constexpr uint8_t kAttrVolumeId = 0x08;
inline constexpr uint32_t kFatEntryMask = 0x0FFFFFFF;   // FAT32 entries are 28 bits
inline constexpr uint32_t kEndOfChain = 0x0FFFFFF8;     // any value >= this ends a chain
inline constexpr uint32_t kMinClusters = 65525;         // fewer clusters make it FAT12/16
inline constexpr uint32_t kMaxClusters = 0x0FFFFFF5;    // cluster numbers 2..0x0FFFFFF6

}  // namespace mos::fsmake::fat32
