// On-disk md structures (linux/raid/md_p.h, drivers/md/md-bitmap.h), packed and size-checked.
// v0.90 fields are host-endian: on x86 (the only hosts we build for) that is little-endian,
// so le32 spells the byte order exactly. v1.x and the bitmap superblock are little-endian.
#pragma once
#include <cstdint>

#include "base/bytes.hpp"

namespace mos::mdraid::disk {

inline constexpr uint32_t kMagic = 0xa92b4efc;          // MD_SB_MAGIC, both versions
inline constexpr uint32_t kBitmapMagic = 0x6d746962;    // "bitm"
inline constexpr uint64_t kReserved090 = 64 * 1024;     // MD_RESERVED_BYTES
inline constexpr uint64_t kSuperOffset12 = 4096;        // v1.2 superblock, from the start
inline constexpr uint32_t kMaxDev1 = (4096 - 256) / 2;  // dev_roles entries that fit in 4 KiB
inline constexpr int kDisks090 = 27;                    // MD_SB_DISKS

// mdp_disk_t: 32 words.
#pragma pack(push, 1)
struct Disk090 {
  le32 number;  // slot of this descriptor in disks[]
  le32 major;
  le32 minor;
  le32 raid_disk;  // role in the array
  le32 state;      // MD_DISK_* bits
  le32 reserved[27];
};
static_assert(sizeof(Disk090) == 128);

// mdp_super_t: 1024 words, at (size & ~(64K-1)) - 64K.
struct Super090 {
  // constant generic information, words 0-31
  le32 md_magic;
  le32 major_version;  // 0
  le32 minor_version;  // 90
  le32 patch_version;  // 0
  le32 gvalid_words;
  le32 set_uuid0;
  le32 ctime;
  le32 level;
  le32 size;  // KiB of each member used by the array
  le32 nr_disks;
  le32 raid_disks;
  le32 md_minor;
  le32 not_persistent;
  le32 set_uuid1;
  le32 set_uuid2;
  le32 set_uuid3;
  le32 gstate_creserved[16];
  // generic state information, words 32-63
  le32 utime;
  le32 state;  // bit 0 clean, bit 1 errors, bit 8 bitmap present
  le32 active_disks;
  le32 working_disks;
  le32 failed_disks;
  le32 spare_disks;
  le32 sb_csum;
  le32 events_lo;  // little-endian hosts store the low word first
  le32 events_hi;
  le32 cp_events_lo;
  le32 cp_events_hi;
  le32 recovery_cp;
  le64 reshape_position;
  le32 new_level;
  le32 delta_disks;
  le32 new_layout;
  le32 new_chunk;
  le32 gstate_sreserved[14];
  // personality information, words 64-127
  le32 layout;
  le32 chunk_size;
  le32 root_pv;
  le32 root_block;
  le32 pstate_reserved[60];
  Disk090 disks[kDisks090];  // words 128-991 (MD_SB_RESERVED_WORDS is 0)
  Disk090 this_disk;         // words 992-1023
};
static_assert(sizeof(Super090) == 4096);

// struct mdp_superblock_1: 256 bytes + 2 bytes per dev_roles entry.
struct Super1 {
  // constant array information, 128 bytes
  le32 magic;
  le32 major_version;  // 1
  le32 feature_map;    // bit 0: bitmap_offset is meaningful
  le32 pad0;
  uint8_t set_uuid[16];
  char set_name[32];
  le64 ctime;  // low 40 bits seconds, high 24 bits microseconds
  le32 level;
  le32 layout;
  le64 size;  // sectors of each member used by the array
  le32 chunksize;
  le32 raid_disks;
  le32 bitmap_offset;  // signed, sectors from the superblock
  le32 new_level;
  le64 reshape_position;
  le32 delta_disks;
  le32 new_layout;
  le32 new_chunk;
  le32 new_offset;
  // constant this-device information, 64 bytes
  le64 data_offset;   // sectors
  le64 data_size;     // sectors
  le64 super_offset;  // sectors
  le64 recovery_offset;
  le32 dev_number;
  le32 cnt_corrected_read;
  uint8_t device_uuid[16];
  uint8_t devflags;
  uint8_t bblog_shift;
  le16 bblog_size;    // sectors
  le32 bblog_offset;  // signed, sectors from the superblock
  // array state information, 64 bytes
  le64 utime;
  le64 events;
  le64 resync_offset;
  le32 sb_csum;
  le32 max_dev;
  uint8_t pad3[32];
  // le16 dev_roles[max_dev] follow
};
static_assert(sizeof(Super1) == 256);

// bitmap_super_t: at the start of the bitmap area, then one bit per chunk.
struct BitmapSuper {
  le32 magic;
  le32 version;  // 4 = BITMAP_MAJOR_HI
  uint8_t uuid[16];
  le64 events;
  le64 events_cleared;
  le64 sync_size;  // sectors
  le32 state;
  le32 chunksize;     // bytes
  le32 daemon_sleep;  // seconds
  le32 write_behind;
  le32 sectors_reserved;
  le32 nodes;
  uint8_t cluster_name[64];
  uint8_t pad[256 - 136];
};
static_assert(sizeof(BitmapSuper) == 256);
#pragma pack(pop)

}  // namespace mos::mdraid::disk
