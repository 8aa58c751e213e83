// btrfs on-disk structures (Documentation/filesystems/btrfs "On-disk format", linux/btrfs_tree.h):
// packed, explicit little-endian fields, one struct per item layout, sizes pinned by static_assert.
#pragma once
#include <linux/btrfs_tree.h>

#include <cstdint>

#include "base/bytes.hpp"

namespace mos::fsmake::btrfs {

inline constexpr uint64_t kSuperOffset = 64 * 1024;
inline constexpr uint32_t kSuperSize = 4096;
inline constexpr uint64_t kMagic = 0x4D5F53665248425FULL;  // "_BHRfS_M"
inline constexpr uint64_t kStripeLen = 64 * 1024;          // BTRFS_STRIPE_LEN
inline constexpr uint32_t kNodeSize = 16384;
inline constexpr uint32_t kSectorSize = 4096;
inline constexpr uint32_t kCsumSize = 32;                  // checksum area at the start of blocks
inline constexpr uint64_t kSuperMirrors[3] = {64ull << 10, 64ull << 20, 256ull << 30};

// Header flags: WRITTEN, plus backref revision MIXED (1) in the top byte.
inline constexpr uint64_t kHeaderFlagWritten = 1;
inline constexpr uint64_t kMixedBackrefRev = 1;
inline constexpr uint64_t kHeaderFlags = kHeaderFlagWritten | (kMixedBackrefRev << 56);

inline constexpr uint64_t kIncompatMixedBackref = 1ull << 0;
inline constexpr uint64_t kIncompatExtendedIref = 1ull << 6;
inline constexpr uint64_t kIncompatSkinnyMetadata = 1ull << 8;
inline constexpr uint64_t kIncompatNoHoles = 1ull << 9;
inline constexpr uint64_t kCompatRoFreeSpaceTree = 1ull << 0;
inline constexpr uint64_t kCompatRoFreeSpaceTreeValid = 1ull << 1;

inline constexpr uint64_t kRootTreeDirObjectid = 6;  // BTRFS_ROOT_TREE_DIR_OBJECTID
inline constexpr uint64_t kFirstFreeObjectid = 256;  // BTRFS_FIRST_FREE_OBJECTID: root dir inode
inline constexpr uint8_t kFtDir = 2;                 // BTRFS_FT_DIR

#pragma pack(push, 1)

struct DiskKey {
  le64 objectid;
  uint8_t type;
  le64 offset;
};
static_assert(sizeof(DiskKey) == 17);

struct Timespec {
  le64 sec;
  le32 nsec;
};
static_assert(sizeof(Timespec) == 12);

struct Header {
  uint8_t csum[32];
  uint8_t fsid[16];
  le64 bytenr;
  le64 flags;
  uint8_t chunk_tree_uuid[16];
  le64 generation;
  le64 owner;
  le32 nritems;
  uint8_t level;
};
static_assert(sizeof(Header) == 101);

struct Item {
  DiskKey key;
  le32 offset;  // from the end of the header
  le32 size;
};
static_assert(sizeof(Item) == 25);

struct DevItem {
  le64 devid;
  le64 total_bytes;
  le64 bytes_used;
  le32 io_align;
  le32 io_width;
  le32 sector_size;
  le64 type;
  le64 generation;
  le64 start_offset;
  le32 dev_group;
  uint8_t seek_speed;
  uint8_t bandwidth;
  uint8_t uuid[16];
  uint8_t fsid[16];
};
static_assert(sizeof(DevItem) == 98);

struct Stripe {
  le64 devid;
  le64 offset;
  uint8_t dev_uuid[16];
};
static_assert(sizeof(Stripe) == 32);

struct Chunk {  // followed by num_stripes Stripe records
  le64 length;
  le64 owner;
  le64 stripe_len;
  le64 type;
  le32 io_align;
  le32 io_width;
  le32 sector_size;
  le16 num_stripes;
  le16 sub_stripes;
};
static_assert(sizeof(Chunk) == 48);

struct DevExtent {
  le64 chunk_tree;
  le64 chunk_objectid;
  le64 chunk_offset;
  le64 length;
  uint8_t chunk_tree_uuid[16];
};
static_assert(sizeof(DevExtent) == 48);

struct BlockGroupItem {
  le64 used;
  le64 chunk_objectid;
  le64 flags;
};
static_assert(sizeof(BlockGroupItem) == 24);

struct ExtentItem {
  le64 refs;
  le64 generation;
  le64 flags;
};
static_assert(sizeof(ExtentItem) == 24);

struct TreeBlockInlineRef {  // skinny metadata: type TREE_BLOCK_REF + root objectid
  uint8_t type;
  le64 root;
};
static_assert(sizeof(TreeBlockInlineRef) == 9);

struct InodeItem {
  le64 generation;
  le64 transid;
  le64 size;
  le64 nbytes;
  le64 block_group;
  le32 nlink;
  le32 uid;
  le32 gid;
  le32 mode;
  le64 rdev;
  le64 flags;
  le64 sequence;
  le64 reserved[4];
  Timespec atime;
  Timespec ctime;
  Timespec mtime;
  Timespec otime;
};
static_assert(sizeof(InodeItem) == 160);

struct InodeRef {  // followed by name
  le64 index;
  le16 name_len;
};
static_assert(sizeof(InodeRef) == 10);

struct DirItem {  // followed by name
  DiskKey location;
  le64 transid;
  le16 data_len;
  le16 name_len;
  uint8_t type;
};
static_assert(sizeof(DirItem) == 30);

struct RootItem {
  InodeItem inode;
  le64 generation;
  le64 root_dirid;
  le64 bytenr;
  le64 byte_limit;
  le64 bytes_used;
  le64 last_snapshot;
  le64 flags;
  le32 refs;
  DiskKey drop_progress;
  uint8_t drop_level;
  uint8_t level;
  le64 generation_v2;
  uint8_t uuid[16];
  uint8_t parent_uuid[16];
  uint8_t received_uuid[16];
  le64 ctransid;
  le64 otransid;
  le64 stransid;
  le64 rtransid;
  Timespec ctime;
  Timespec otime;
  Timespec stime;
  Timespec rtime;
  le64 reserved[8];
};
static_assert(sizeof(RootItem) == 439);

struct FreeSpaceInfo {
  le32 extent_count;
  le32 flags;
};
static_assert(sizeof(FreeSpaceInfo) == 8);

struct RootBackup {
  le64 tree_root, tree_root_gen;
  le64 chunk_root, chunk_root_gen;
  le64 extent_root, extent_root_gen;
  le64 fs_root, fs_root_gen;
  le64 dev_root, dev_root_gen;
  le64 csum_root, csum_root_gen;
  le64 total_bytes;
  le64 bytes_used;
  le64 num_devices;
  le64 unused_64[4];
  uint8_t tree_root_level, chunk_root_level, extent_root_level, fs_root_level, dev_root_level,
      csum_root_level;
  uint8_t unused_8[10];
};
static_assert(sizeof(RootBackup) == 168);

struct SuperBlock {
  uint8_t csum[32];
  uint8_t fsid[16];
  le64 bytenr;
  le64 flags;
  le64 magic;
  le64 generation;
  le64 root;
  le64 chunk_root;
  le64 log_root;
  le64 unused_log_root_transid;
  le64 total_bytes;
  le64 bytes_used;
  le64 root_dir_objectid;
  le64 num_devices;
  le32 sectorsize;
  le32 nodesize;
  le32 unused_leafsize;
  le32 stripesize;
  le32 sys_chunk_array_size;
  le64 chunk_root_generation;
  le64 compat_flags;
  le64 compat_ro_flags;
  le64 incompat_flags;
  le16 csum_type;
  uint8_t root_level;
  uint8_t chunk_root_level;
  uint8_t log_root_level;
  DevItem dev_item;
  char label[256];
  le64 cache_generation;
  le64 uuid_tree_generation;
  uint8_t metadata_uuid[16];
  le64 nr_global_roots;
  le64 reserved[27];
  uint8_t sys_chunk_array[2048];
  RootBackup super_roots[4];
  uint8_t padding[565];
};
static_assert(sizeof(SuperBlock) == 4096);
static_assert(offsetof(SuperBlock, dev_item) == 0xc9);
static_assert(offsetof(SuperBlock, label) == 0x12b);
static_assert(offsetof(SuperBlock, sys_chunk_array) == 0x32b);

#pragma pack(pop)

// btrfs checksums: crc32c seeded with ~0, stored inverted (standard CRC-32C), little-endian.
inline uint32_t block_csum(const uint8_t* block, size_t len) {
  return crc32c(block + kCsumSize, len - kCsumSize);
}
// Directory entry name hash (btrfs_name_hash): raw crc32c register seeded with ~1.
inline uint64_t name_hash(const char* name, size_t len) { return crc32c_update(~1u, name, len); }

}  // namespace mos::fsmake::btrfs
