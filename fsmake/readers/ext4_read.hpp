// ext4 superblock reader and structural validator for tests and fuzzing (not product code;
// e2fsck stays the real oracle).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fsmake/ext4.hpp"
#include "ioctl/fd.hpp"

namespace mos::fsmake::ext4 {

// The fields tests and the prober care about, decoded from the primary superblock.
struct SuperblockInfo {
  uint64_t blocks_count = 0;
  uint64_t free_blocks = 0;
  uint64_t reserved_blocks = 0;
  uint32_t inodes_count = 0;
  uint32_t free_inodes = 0;
  uint32_t block_size = 0;
  uint32_t first_data_block = 0;
  uint32_t blocks_per_group = 0;
  uint32_t inodes_per_group = 0;
  uint32_t inode_size = 0;
  uint32_t reserved_gdt_blocks = 0;
  uint32_t desc_size = 0;
  uint32_t log_groups_per_flex = 0;
  uint32_t feature_compat = 0;
  uint32_t feature_incompat = 0;
  uint32_t feature_ro_compat = 0;
  uint32_t journal_inum = 0;
  uint32_t overhead_clusters = 0;
  std::array<uint8_t, 16> uuid{};
  std::string label;
  bool checksum_ok = false;
  uint32_t group_count() const;
};

// Parses the 1024-byte primary superblock; throws validation if the magic is wrong.
SuperblockInfo parse_superblock(const uint8_t* sb1024);
SuperblockInfo read_superblock(const io::Fd& fd);

// Structural check of a freshly made filesystem (not a full fsck): superblock and backup
// superblocks, group descriptor checksums and counts, initialized bitmaps and their checksums,
// reserved inodes 1..11 checksums, root and lost+found directory blocks, journal superblock.
// Returns the problems found (empty = valid).
std::vector<std::string> validate(const io::Fd& fd);

}  // namespace mos::fsmake::ext4
