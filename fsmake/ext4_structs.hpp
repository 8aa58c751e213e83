// ext4 on-disk structures (kernel Documentation/filesystems/ext4/*.rst, fs/ext4/ext4.h,
// fs/jbd2 and include/linux/jbd2.h). Everything little-endian except the jbd2 superblock,
// which is big-endian. Field offsets are given where the layout is easy to get wrong.
#pragma once
#include <cstdint>

#include "base/bytes.hpp"

namespace mos::fsmake::ext4 {

inline constexpr uint16_t kSuperMagic = 0xEF53;
inline constexpr uint64_t kSuperOffset = 1024;  // bytes from the start of the device
inline constexpr uint32_t kSuperSize = 1024;

// Feature bits (s_feature_compat / _incompat / _ro_compat).
inline constexpr uint32_t kCompatHasJournal = 0x0004;
inline constexpr uint32_t kCompatExtAttr = 0x0008;
inline constexpr uint32_t kCompatResizeInode = 0x0010;
inline constexpr uint32_t kCompatDirIndex = 0x0020;
inline constexpr uint32_t kIncompatFiletype = 0x0002;
inline constexpr uint32_t kIncompatRecover = 0x0004;
inline constexpr uint32_t kIncompatExtents = 0x0040;
inline constexpr uint32_t kIncompat64bit = 0x0080;
inline constexpr uint32_t kIncompatMetaBg = 0x0010;
inline constexpr uint32_t kIncompatFlexBg = 0x0200;
inline constexpr uint32_t kRoCompatSparseSuper = 0x0001;
inline constexpr uint32_t kRoCompatLargeFile = 0x0002;
inline constexpr uint32_t kRoCompatHugeFile = 0x0008;
inline constexpr uint32_t kRoCompatGdtCsum = 0x0010;
inline constexpr uint32_t kRoCompatDirNlink = 0x0020;
inline constexpr uint32_t kRoCompatExtraIsize = 0x0040;
inline constexpr uint32_t kRoCompatMetadataCsum = 0x0400;

// Values split into lo/hi halves across a structure (64bit descriptors, block counts).
inline void set_lo_hi(le32& lo, le32& hi, uint64_t v) {
  lo = static_cast<uint32_t>(v);
  hi = static_cast<uint32_t>(v >> 32);
}
inline void set_lo_hi(le16& lo, le16& hi, uint32_t v) {
  lo = static_cast<uint16_t>(v);
  hi = static_cast<uint16_t>(v >> 16);
}
inline uint64_t get_lo_hi(const le32& lo, const le32& hi) { return lo.get() | (uint64_t{hi.get()} << 32); }
inline uint32_t get_lo_hi(const le16& lo, const le16& hi) { return lo.get() | (uint32_t{hi.get()} << 16); }

// Block group flags (bg_flags).
inline constexpr uint16_t kBgInodeUninit = 0x0001;
inline constexpr uint16_t kBgBlockUninit = 0x0002;
inline constexpr uint16_t kBgItableZeroed = 0x0004;

// Reserved inode numbers.
inline constexpr uint32_t kBadBlocksIno = 1;
inline constexpr uint32_t kRootIno = 2;
inline constexpr uint32_t kResizeIno = 7;
inline constexpr uint32_t kJournalIno = 8;
inline constexpr uint32_t kFirstIno = 11;  // lost+found takes the first non-reserved inode
inline constexpr uint32_t kLostFoundIno = 11;

inline constexpr uint32_t kInodeFlagExtents = 0x00080000;
inline constexpr uint16_t kModeDir = 0040000;
inline constexpr uint16_t kModeReg = 0100000;

struct Superblock {
  le32 s_inodes_count;          // 0x00
  le32 s_blocks_count_lo;
  le32 s_r_blocks_count_lo;
  le32 s_free_blocks_count_lo;
  le32 s_free_inodes_count;     // 0x10
  le32 s_first_data_block;
  le32 s_log_block_size;
  le32 s_log_cluster_size;
  le32 s_blocks_per_group;      // 0x20
  le32 s_clusters_per_group;
  le32 s_inodes_per_group;
  le32 s_mtime;
  le32 s_wtime;                 // 0x30
  le16 s_mnt_count;
  le16 s_max_mnt_count;
  le16 s_magic;
  le16 s_state;
  le16 s_errors;
  le16 s_minor_rev_level;
  le32 s_lastcheck;             // 0x40
  le32 s_checkinterval;
  le32 s_creator_os;
  le32 s_rev_level;
  le16 s_def_resuid;            // 0x50
  le16 s_def_resgid;
  le32 s_first_ino;
  le16 s_inode_size;
  le16 s_block_group_nr;
  le32 s_feature_compat;
  le32 s_feature_incompat;      // 0x60
  le32 s_feature_ro_compat;
  uint8_t s_uuid[16];           // 0x68
  char s_volume_name[16];       // 0x78
  char s_last_mounted[64];      // 0x88
  le32 s_algorithm_usage_bitmap;  // 0xC8
  uint8_t s_prealloc_blocks;
  uint8_t s_prealloc_dir_blocks;
  le16 s_reserved_gdt_blocks;   // 0xCE
  uint8_t s_journal_uuid[16];   // 0xD0
  le32 s_journal_inum;          // 0xE0
  le32 s_journal_dev;
  le32 s_last_orphan;
  le32 s_hash_seed[4];          // 0xEC
  uint8_t s_def_hash_version;   // 0xFC
  uint8_t s_jnl_backup_type;
  le16 s_desc_size;             // 0xFE
  le32 s_default_mount_opts;    // 0x100
  le32 s_first_meta_bg;
  le32 s_mkfs_time;
  le32 s_jnl_blocks[17];        // 0x10C: copy of the journal inode's i_block[15], i_size_high, i_size
  le32 s_blocks_count_hi;       // 0x150
  le32 s_r_blocks_count_hi;
  le32 s_free_blocks_count_hi;
  le16 s_min_extra_isize;
  le16 s_want_extra_isize;
  le32 s_flags;                 // 0x160
  le16 s_raid_stride;
  le16 s_mmp_interval;
  le64 s_mmp_block;
  le32 s_raid_stripe_width;     // 0x170
  uint8_t s_log_groups_per_flex;
  uint8_t s_checksum_type;
  uint8_t s_encryption_level;
  uint8_t s_reserved_pad;
  le64 s_kbytes_written;        // 0x178
  le32 s_snapshot_inum;         // 0x180
  le32 s_snapshot_id;
  le64 s_snapshot_r_blocks_count;
  le32 s_snapshot_list;         // 0x190
  le32 s_error_count;
  le32 s_first_error_time;
  le32 s_first_error_ino;
  le64 s_first_error_block;     // 0x1A0
  uint8_t s_first_error_func[32];
  le32 s_first_error_line;      // 0x1C8
  le32 s_last_error_time;
  le32 s_last_error_ino;
  le32 s_last_error_line;
  le64 s_last_error_block;      // 0x1D8
  uint8_t s_last_error_func[32];
  uint8_t s_mount_opts[64];     // 0x200
  le32 s_usr_quota_inum;        // 0x240
  le32 s_grp_quota_inum;
  le32 s_overhead_clusters;     // 0x248
  le32 s_backup_bgs[2];
  uint8_t s_encrypt_algos[4];
  uint8_t s_encrypt_pw_salt[16];  // 0x258
  le32 s_lpf_ino;               // 0x268
  le32 s_prj_quota_inum;
  le32 s_checksum_seed;         // 0x270
  uint8_t s_time_hi[8];         // wtime, mtime, mkfs_time, lastcheck, first/last error time, errcodes
  le16 s_encoding;              // 0x27C
  le16 s_encoding_flags;
  le32 s_orphan_file_inum;      // 0x280
  le32 s_reserved[94];
  le32 s_checksum;              // 0x3FC: crc32c of the bytes before it
};
static_assert(sizeof(Superblock) == 1024);

struct GroupDesc {  // 64 bytes with the 64bit feature
  le32 bg_block_bitmap_lo;
  le32 bg_inode_bitmap_lo;
  le32 bg_inode_table_lo;
  le16 bg_free_blocks_count_lo;
  le16 bg_free_inodes_count_lo;
  le16 bg_used_dirs_count_lo;     // 0x10
  le16 bg_flags;
  le32 bg_exclude_bitmap_lo;
  le16 bg_block_bitmap_csum_lo;   // 0x18
  le16 bg_inode_bitmap_csum_lo;
  le16 bg_itable_unused_lo;
  le16 bg_checksum;               // 0x1E: crc32c(seed, group, desc with this field 0) & 0xFFFF
  le32 bg_block_bitmap_hi;        // 0x20
  le32 bg_inode_bitmap_hi;
  le32 bg_inode_table_hi;
  le16 bg_free_blocks_count_hi;
  le16 bg_free_inodes_count_hi;
  le16 bg_used_dirs_count_hi;     // 0x30
  le16 bg_itable_unused_hi;
  le32 bg_exclude_bitmap_hi;
  le16 bg_block_bitmap_csum_hi;   // 0x38
  le16 bg_inode_bitmap_csum_hi;
  le32 bg_reserved;
};
static_assert(sizeof(GroupDesc) == 64);
inline constexpr uint32_t kDescSize = 64;
inline constexpr uint32_t kDescChecksumOffset = 0x1E;

struct Inode {  // 256-byte inode: 128-byte base + 32 bytes of extra fields + in-inode xattr space
  le16 i_mode;
  le16 i_uid;
  le32 i_size_lo;
  le32 i_atime;
  le32 i_ctime;
  le32 i_mtime;          // 0x10
  le32 i_dtime;
  le16 i_gid;
  le16 i_links_count;
  le32 i_blocks_lo;      // in 512-byte units (huge_file without HUGE_FILE_FL)
  le32 i_flags;          // 0x20
  le32 i_version_lo;
  le32 i_block[15];      // 0x28: extent tree root, or direct/indirect block map
  le32 i_generation;     // 0x64
  le32 i_file_acl_lo;
  le32 i_size_high;
  le32 i_obso_faddr;     // 0x70
  le16 i_blocks_high;
  le16 i_file_acl_high;
  le16 i_uid_high;
  le16 i_gid_high;
  le16 i_checksum_lo;    // 0x7C
  le16 i_reserved;
  le16 i_extra_isize;    // 0x80
  le16 i_checksum_hi;    // 0x82
  le32 i_ctime_extra;
  le32 i_mtime_extra;
  le32 i_atime_extra;
  le32 i_crtime;         // 0x90
  le32 i_crtime_extra;
  le32 i_version_hi;
  le32 i_projid;
  uint8_t i_xattr_space[96];
};
static_assert(sizeof(Inode) == 256);
inline constexpr uint32_t kInodeSize = 256;
inline constexpr uint16_t kExtraIsize = 32;
inline constexpr uint32_t kInodeChecksumLoOffset = 0x7C;
inline constexpr uint32_t kInodeChecksumHiOffset = 0x82;
inline constexpr uint32_t kDindBlockIndex = 13;  // i_block[13]: double-indirect (resize inode)

inline constexpr uint16_t kExtentMagic = 0xF30A;
inline constexpr uint32_t kMaxInitExtentLen = 32768;  // longer lengths mean "unwritten"

struct ExtentHeader {
  le16 eh_magic;
  le16 eh_entries;
  le16 eh_max;
  le16 eh_depth;
  le32 eh_generation;
};
static_assert(sizeof(ExtentHeader) == 12);

struct Extent {  // leaf entry
  le32 ee_block;
  le16 ee_len;
  le16 ee_start_hi;
  le32 ee_start_lo;
};
static_assert(sizeof(Extent) == 12);

struct ExtentIdx {  // interior entry
  le32 ei_block;
  le32 ei_leaf_lo;
  le16 ei_leaf_hi;
  le16 ei_unused;
};
static_assert(sizeof(ExtentIdx) == 12);

struct ExtentTail {
  le32 et_checksum;  // crc32c(inode seed, block up to the tail)
};
static_assert(sizeof(ExtentTail) == 4);

struct DirEntry {  // ext4_dir_entry_2 header; the name follows
  le32 inode;
  le16 rec_len;
  uint8_t name_len;
  uint8_t file_type;
};
static_assert(sizeof(DirEntry) == 8);
inline constexpr uint8_t kFileTypeDir = 2;

struct DirTail {  // fake entry at the end of every directory leaf block with metadata_csum
  le32 det_reserved_zero1;
  le16 det_rec_len;  // 12
  uint8_t det_reserved_zero2;
  uint8_t det_reserved_ft;  // 0xDE
  le32 det_checksum;
};
static_assert(sizeof(DirTail) == 12);

// jbd2 journal superblock (big-endian), v2 (blocktype 4).
inline constexpr uint32_t kJbd2Magic = 0xC03B3998;
inline constexpr uint32_t kJbd2SuperblockV2 = 4;
struct JournalSuperblock {
  be32 h_magic;
  be32 h_blocktype;
  be32 h_sequence;
  be32 s_blocksize;      // 0x0C
  be32 s_maxlen;         // journal length in blocks
  be32 s_first;          // first log block
  be32 s_sequence;       // 0x18: first expected commit id
  be32 s_start;          // 0 = journal is clean
  be32 s_errno;          // 0x20
  be32 s_feature_compat;
  be32 s_feature_incompat;
  be32 s_feature_ro_compat;
  uint8_t s_uuid[16];    // 0x30
  be32 s_nr_users;       // 0x40
  be32 s_dynsuper;
  be32 s_max_transaction;
  be32 s_max_trans_data;
  uint8_t s_checksum_type;  // 0x50
  uint8_t s_padding2[3];
  be32 s_num_fc_blks;
  be32 s_head;
  be32 s_padding[40];
  be32 s_checksum;       // 0xFC
  uint8_t s_users[16 * 48];  // 0x100
};
static_assert(sizeof(JournalSuperblock) == 1024);

}  // namespace mos::fsmake::ext4
