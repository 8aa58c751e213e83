// Shared by the ext4 writer's files: the build context and a write collector that turns many
// small metadata pieces into few large writes.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fsmake/ext4_layout.hpp"
#include "fsmake/ext4_structs.hpp"
#include "base/write_plan.hpp"

namespace mos::fsmake::ext4 {

struct BuildContext {
  const Layout& layout;
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> hash_seed{};
  uint32_t seed = 0;  // crc32c(~0, uuid)
  uint32_t now = 0;
  bool full_init = false;
  const Geometry& geo() const { return layout.geo; }
};

// Pieces of one plan step; emit() sorts them and merges neighbours closer than max_gap,
// filling the gap with zeros (every block of a new filesystem is ours to write). Pieces
// larger than max_gap are never copied into a merged write: they go out as they are (shared
// buffers stay shared), with the gaps around them absorbed by their small neighbours.
class ChunkList {
 public:
  void add(uint64_t offset, mos::SharedBytes data, std::string what);
  void emit(mos::PlanStep& step, uint64_t max_gap);

 private:
  std::vector<mos::PlannedWrite> chunks_;
};

// A fresh inode as ext2fs_write_new_inode leaves it: times, 32 extra bytes, no checksum yet.
Inode new_inode(const BuildContext& ctx, uint16_t mode, uint16_t links);
void set_size(Inode& in, uint64_t bytes);
void set_blocks(Inode& in, const Geometry& g, uint64_t fs_blocks);  // i_blocks in 512-byte units
// Depth-0 extent tree in i_block (at most 4 extents).
void set_inline_extents(Inode& in, const std::vector<FileExtent>& extents);

struct InodeSlot {
  uint32_t ino;
  Inode inode;  // checksum is set when the inode table block is assembled
};

// ext4_dirs.cpp
void build_directories(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes);
// ext4_journal.cpp: also fills the superblock's journal backup (s_jnl_blocks).
void build_journal(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes, Superblock& sb);
// ext4_metadata.cpp
void build_resize_inode(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes);
// supers: every group descriptor table and backup superblock; primary: group 0's superblock alone.
void build_groups_and_super(const BuildContext& ctx, const std::string& label, ChunkList& metadata,
                            ChunkList& supers, ChunkList& primary, std::vector<InodeSlot>& inodes, Superblock& sb);

}  // namespace mos::fsmake::ext4
