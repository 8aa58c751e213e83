// ext4 geometry and block placement, computed the way mke2fs 1.47 (misc/mke2fs.c,
// lib/ext2fs/initialize.c, alloc_tables.c, res_gdt.c, mkjournal.c) computes them, so that
// dumpe2fs of our filesystem and of mkfs.ext4's agree. Internal to fsmake/ext4*.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mos::fsmake::ext4 {

struct Geometry {
  uint32_t block_size = 0;
  uint32_t log_block_size = 0;  // block_size = 1024 << log_block_size
  uint64_t blocks_count = 0;
  uint64_t r_blocks_count = 0;
  uint32_t first_data_block = 0;
  uint32_t blocks_per_group = 0;
  uint32_t group_count = 0;
  uint32_t inodes_per_group = 0;
  uint32_t inode_blocks_per_group = 0;
  uint32_t inodes_count = 0;
  uint32_t desc_blocks = 0;
  uint32_t reserved_gdt_blocks = 0;
  bool resize_inode = true;
  uint32_t log_groups_per_flex = 4;
  uint32_t journal_blocks = 0;
  uint32_t lost_found_blocks = 0;

  uint64_t group_first_block(uint32_t g) const { return first_data_block + uint64_t{g} * blocks_per_group; }
  uint64_t group_last_block(uint32_t g) const {
    return g + 1 == group_count ? blocks_count - 1 : group_first_block(g) + blocks_per_group - 1;
  }
  uint32_t group_of(uint64_t block) const {
    return static_cast<uint32_t>((block - first_data_block) / blocks_per_group);
  }
  uint32_t blocks_in_group(uint32_t g) const {
    return static_cast<uint32_t>(group_last_block(g) - group_first_block(g) + 1);
  }
  uint32_t desc_per_block() const { return block_size / 64; }
  uint32_t addr_per_block() const { return block_size / 4; }
};

// mke2fs's sizing for a device (bytes) and logical sector size; block_size 0 = automatic.
// Throws mos::Error(validation) for sizes mke2fs or we refuse.
Geometry compute_geometry(uint64_t device_bytes, uint32_t logical_sector_size, uint32_t block_size);

// Sparse set of used blocks (merged intervals): enough for first-fit allocation like
// libext2fs's bitmap search, with memory proportional to the number of metadata runs.
class BlockMap {
 public:
  explicit BlockMap(uint64_t blocks_count) : blocks_count_(blocks_count) {}
  void mark(uint64_t start, uint64_t count);
  // First b in [start, finish) with [b, b+count) free and inside the device.
  std::optional<uint64_t> first_free_run(uint64_t start, uint64_t finish, uint64_t count) const;
  // Free run starting at the first free block >= start: {begin, length} (length may be huge).
  std::optional<std::pair<uint64_t, uint64_t>> next_free_extent(uint64_t start) const;
  uint64_t used_in(uint64_t first, uint64_t last) const;  // inclusive range
  const std::map<uint64_t, uint64_t>& runs() const { return used_; }  // start -> end (exclusive)

 private:
  uint64_t blocks_count_;
  std::map<uint64_t, uint64_t> used_;
};

struct GroupTables {
  uint64_t block_bitmap = 0;
  uint64_t inode_bitmap = 0;
  uint64_t inode_table = 0;
};

struct FileExtent {
  uint32_t logical = 0;
  uint64_t physical = 0;
  uint32_t length = 0;
};

// Where everything lives, in mke2fs's allocation order.
struct Layout {
  Geometry geo;
  std::vector<uint32_t> backup_groups;  // groups holding a superblock copy (0 included)
  std::vector<GroupTables> tables;
  uint64_t overhead_clusters = 0;
  uint64_t root_block = 0;
  std::vector<FileExtent> lost_found;
  uint64_t resize_dind_block = 0;
  std::vector<FileExtent> journal;
  uint64_t journal_extent_leaf = 0;  // 0 unless the journal needs more than 4 extents
  BlockMap used{0};
};

bool group_has_super(uint32_t group);  // sparse_super: 0, 1 and powers of 3, 5, 7
Layout compute_layout(const Geometry& geo);

}  // namespace mos::fsmake::ext4
