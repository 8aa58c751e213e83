// Test-side reader (mos_fsreaders, not linked into the product). Reads a btrfs back: superblocks, the sys chunk array, the chunk map, and checksummed leaves
// (every copy), then cross-checks the trees a fresh filesystem has. Used to round-trip our
// mkfs in unit tests and to read what mkfs.btrfs made; it handles leaves only (level 0 roots).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fsmake/btrfs_structs.hpp"
#include "fsmake/btrfs_super.hpp"
#include "fsmake/btrfs_tree_builder.hpp"

namespace mos::fsmake::btrfs {

// Reads len bytes at offset of one device (zeros past what exists are fine).
using ReadFn = std::function<std::vector<uint8_t>(uint64_t offset, size_t len)>;

struct ChunkMapEntry {
  uint64_t logical = 0, length = 0, type = 0;
  struct Stripe {
    uint64_t devid = 0, physical = 0;
  };
  std::vector<Stripe> stripes;
};
// Chunks of the superblock's sys_chunk_array. Throws on a malformed array.
std::vector<ChunkMapEntry> parse_sys_chunk_array(const SuperBlock& sb);

struct LeafItem {
  Key key;
  std::vector<uint8_t> data;
};
struct Leaf {
  Header header{};
  std::vector<LeafItem> items;
};
// Parses one leaf: checksum, bytenr, fsid, level 0, item bounds and key order. Throws.
Leaf parse_leaf(const uint8_t* block, uint32_t nodesize, uint64_t bytenr, const uint8_t fsid[16]);

struct Inspection {
  SuperBlock super{};                          // device 1's primary
  std::vector<ChunkMapEntry> chunks;           // from the chunk tree
  std::map<uint64_t, uint64_t> tree_roots;     // owner objectid -> root bytenr (incl. root, chunk)
  std::map<uint64_t, Leaf> leaves;             // by owner
  std::vector<std::string> problems;           // empty: consistent
};

// Opens the filesystem on `devices` (index i = any order; matched by devid) and checks it:
// superblocks and mirrors, chunk tree vs sys array, every tree leaf on every copy, extent
// items for every tree block, block groups vs chunks, dev extents vs stripes and dev items,
// free space tree vs block groups. Structural failures throw; inconsistencies land in problems.
Inspection inspect(const std::vector<ReadFn>& devices);

}  // namespace mos::fsmake::btrfs
