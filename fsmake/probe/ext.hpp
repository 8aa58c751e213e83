// The ext2/3/4 superblock as the ext prober and the backup-superblock search read it
// (Documentation/filesystems/ext4/super.rst): the fields that name the filesystem, its geometry
// (where the backup groups are) and its checksum.
#pragma once
#include <string_view>

#include "base/bytes.hpp"
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

struct ExtSuperblock {
  uint8_t pad0[0x04];
  le32 blocks_count_lo;     // 0x04
  uint8_t pad1[0x14 - 0x08];
  le32 first_data_block;    // 0x14: 1 with 1 KiB blocks, else 0
  le32 log_block_size;      // 0x18: block size = 1024 << this
  uint8_t pad2[0x20 - 0x1C];
  le32 blocks_per_group;    // 0x20
  uint8_t pad3[0x38 - 0x24];
  le16 magic;               // 0x38
  uint8_t pad4[0x3E - 0x3A];
  le16 minor_rev_level;     // 0x3E
  uint8_t pad5[0x4C - 0x40];
  le32 rev_level;           // 0x4C
  uint8_t pad6[0x5A - 0x50];
  le16 block_group_nr;      // 0x5A: the group this copy sits in (0 for the primary)
  le32 feature_compat;      // 0x5C
  le32 feature_incompat;    // 0x60
  le32 feature_ro_compat;   // 0x64
  uint8_t uuid[16];         // 0x68
  uint8_t volume_name[16];  // 0x78
  uint8_t pad7[0x150 - 0x88];
  le32 blocks_count_hi;     // 0x150 (64bit)
  uint8_t pad8[0x160 - 0x154];
  le32 flags;               // 0x160
  uint8_t pad9[0x24C - 0x164];
  le32 backup_bgs[2];       // 0x24C: the two backup groups of sparse_super2
  uint8_t pad10[0x3FC - 0x254];
  le32 checksum;            // 0x3FC: crc32c of the bytes before it (metadata_csum)
};
static_assert(sizeof(ExtSuperblock) == 0x400);

inline constexpr uint64_t kExtSuperblockOffset = 1024;
inline constexpr uint16_t kExtMagic = 0xEF53;
inline constexpr uint32_t kExtCompatSparseSuper2 = 0x0200;
inline constexpr uint32_t kExtRoCompatSparseSuper = 0x0001;
inline constexpr uint32_t kExtRoCompatMetadataCsum = 0x0400;
inline constexpr uint32_t kExtIncompat64bit = 0x0080;
inline constexpr uint32_t kExtMaxLogBlockSize = 6;  // 64 KiB blocks

// Which of ext4, ext3, ext2 a superblock is by libblkid's feature rules ("" for none: a journal
// device or ext4dev); fills label, uuid, version and sec_type as blkid prints them.
std::string_view ext_type(const ExtSuperblock& sb);
void ext_fill(const ExtSuperblock& sb, std::string_view type, Found& out);
// Whether the metadata_csum checksum (when the feature is on) matches.
bool ext_checksum_ok(const ExtSuperblock& sb);

// Why the primary superblock a table prober matched is not to be trusted ("" when it checks out).
std::string ext_primary_fault(ProbeSource& src);

}  // namespace mos::fsmake::probe
