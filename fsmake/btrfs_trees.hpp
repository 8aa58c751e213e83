// The items of every tree of a fresh btrfs (one leaf each): what mkfs.btrfs 6.2 creates with
// its defaults (skinny metadata, no-holes, extended irefs, free space tree), at generation 1.
#pragma once
#include <linux/btrfs_tree.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "fsmake/btrfs_chunks.hpp"
#include "fsmake/btrfs_structs.hpp"
#include "fsmake/btrfs_tree_builder.hpp"

namespace mos::fsmake::btrfs {

using Uuid = std::array<uint8_t, 16>;
inline constexpr uint64_t kGeneration = 1;
inline constexpr uint64_t kDataRelocObjectid = static_cast<uint64_t>(BTRFS_DATA_RELOC_TREE_OBJECTID);

// Trees whose single leaf lives in the metadata chunk, in placement order (the chunk tree's
// leaf lives in the system chunk).
inline constexpr uint64_t kMetadataTrees[] = {
    BTRFS_ROOT_TREE_OBJECTID, BTRFS_EXTENT_TREE_OBJECTID, BTRFS_DEV_TREE_OBJECTID,
    BTRFS_FS_TREE_OBJECTID,   BTRFS_CSUM_TREE_OBJECTID,   BTRFS_UUID_TREE_OBJECTID,
    BTRFS_FREE_SPACE_TREE_OBJECTID, kDataRelocObjectid};

// Everything the tree contents depend on.
struct FreshFs {
  ChunkLayout layout;
  Uuid fsid{}, chunk_tree_uuid{}, fs_tree_uuid{};
  std::vector<Uuid> dev_uuids;
  uint64_t now = 0;
  uint64_t chunk_block = 0;                 // logical address of the chunk tree leaf
  std::map<uint64_t, uint64_t> tree_block;  // owner -> logical address, kMetadataTrees
};

// A chunk item with its stripes (chunk tree and superblock sys_chunk_array share it).
std::vector<uint8_t> chunk_item_bytes(const ChunkPlan& c, const std::vector<Uuid>& dev_uuids);
DevItem dev_item_for(const FreshFs& fs, size_t dev_index);

// The leaf of tree `owner` (chunk tree or one of kMetadataTrees).
LeafBuilder build_tree(const FreshFs& fs, uint64_t owner);

}  // namespace mos::fsmake::btrfs
