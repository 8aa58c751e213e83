// Root directory and lost+found, as mke2fs creates them: "." and ".." in the first block,
// lost+found grown to 16 KiB of empty blocks, every leaf block ending in a checksum tail.
#include <cstring>

#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_internal.hpp"
#include "base/error.hpp"

namespace mos::fsmake::ext4 {

namespace {

struct DirBlock {
  std::vector<uint8_t> bytes;
  uint32_t used = 0;

  explicit DirBlock(uint32_t block_size) : bytes(block_size, 0) {}
  uint32_t limit() const { return static_cast<uint32_t>(bytes.size() - sizeof(DirTail)); }

  // Appends an entry; the last entry added stretches to the tail.
  void add(uint32_t ino, const std::string& name, bool last) {
    uint32_t len = (8 + static_cast<uint32_t>(name.size()) + 3) & ~3u;
    uint32_t rec = last ? limit() - used : len;
    DirEntry d{};
    d.inode = ino;
    d.rec_len = static_cast<uint16_t>(rec);
    d.name_len = static_cast<uint8_t>(name.size());
    d.file_type = ino ? kFileTypeDir : 0;
    std::memcpy(bytes.data() + used, &d, sizeof d);
    std::memcpy(bytes.data() + used + sizeof d, name.data(), name.size());
    used += rec;
  }

  void seal(uint32_t iseed) {
    DirTail t{};
    t.det_rec_len = 12;
    t.det_reserved_ft = 0xDE;
    t.det_checksum = dir_block_csum(iseed, bytes.data(), static_cast<uint32_t>(bytes.size()));
    std::memcpy(bytes.data() + limit(), &t, sizeof t);
  }
};

}  // namespace

void build_directories(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes) {
  const Geometry& g = ctx.geo();
  const Layout& L = ctx.layout;
  uint32_t bs = g.block_size;

  DirBlock root(bs);
  root.add(kRootIno, ".", false);
  root.add(kRootIno, "..", false);
  root.add(kLostFoundIno, "lost+found", true);
  root.seal(inode_csum_seed(ctx.seed, kRootIno, 0));
  out.add(L.root_block * bs, std::move(root.bytes), "root directory block");

  Inode ri = new_inode(ctx, kModeDir | 0755, 3);
  set_size(ri, bs);
  set_blocks(ri, g, 1);
  set_inline_extents(ri, {{0, L.root_block, 1}});
  inodes.push_back({kRootIno, ri});

  if (L.lost_found.size() > 4) throw_validation("ext4: lost+found would need an extent tree");
  uint32_t lf_seed = inode_csum_seed(ctx.seed, kLostFoundIno, 0);
  uint32_t index = 0;
  for (const auto& e : L.lost_found) {
    for (uint32_t i = 0; i < e.length; ++i, ++index) {
      DirBlock b(bs);
      if (index == 0) {
        b.add(kLostFoundIno, ".", false);
        b.add(kRootIno, "..", true);
      } else {
        b.add(0, "", true);  // one empty entry spanning the block
      }
      b.seal(lf_seed);
      out.add((e.physical + i) * bs, std::move(b.bytes), "lost+found block");
    }
  }
  Inode li = new_inode(ctx, kModeDir | 0700, 2);
  set_size(li, uint64_t{g.lost_found_blocks} * bs);
  set_blocks(li, g, g.lost_found_blocks);
  set_inline_extents(li, L.lost_found);
  inodes.push_back({kLostFoundIno, li});
}

}  // namespace mos::fsmake::ext4
