// Internal journal (inode 8): jbd2 v2 superblock in its first block, extents like
// ext2fs_fallocate makes them, and the superblock's s_jnl_blocks backup of the inode.
#include <cstring>

#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_internal.hpp"

namespace mos::fsmake::ext4 {

void build_journal(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes, Superblock& sb) {
  const Geometry& g = ctx.geo();
  const Layout& L = ctx.layout;
  uint32_t bs = g.block_size;

  std::vector<uint8_t> jblock(bs, 0);
  JournalSuperblock js{};
  js.h_magic = kJbd2Magic;
  js.h_blocktype = kJbd2SuperblockV2;
  js.s_blocksize = bs;
  js.s_maxlen = g.journal_blocks;
  js.s_first = 1;
  js.s_sequence = 1;
  js.s_nr_users = 1;
  std::memcpy(js.s_uuid, ctx.uuid.data(), 16);
  std::memcpy(jblock.data(), &js, sizeof js);
  out.add(L.journal.front().physical * bs, std::move(jblock), "journal superblock");

  Inode in = new_inode(ctx, kModeReg | 0600, 1);
  set_size(in, uint64_t{g.journal_blocks} * bs);
  set_blocks(in, g, uint64_t{g.journal_blocks} + (L.journal_extent_leaf ? 1 : 0));
  if (!L.journal_extent_leaf) {
    set_inline_extents(in, L.journal);
  } else {
    in.i_flags = kInodeFlagExtents;
    ExtentHeader root{};
    root.eh_magic = kExtentMagic;
    root.eh_entries = 1;
    root.eh_max = 4;
    root.eh_depth = 1;
    ExtentIdx idx{};
    idx.ei_block = 0;
    idx.ei_leaf_lo = static_cast<uint32_t>(L.journal_extent_leaf);
    idx.ei_leaf_hi = static_cast<uint16_t>(L.journal_extent_leaf >> 32);
    auto* ib = reinterpret_cast<uint8_t*>(in.i_block);
    std::memcpy(ib, &root, sizeof root);
    std::memcpy(ib + sizeof root, &idx, sizeof idx);

    std::vector<uint8_t> leaf(bs, 0);
    ExtentHeader h{};
    h.eh_magic = kExtentMagic;
    h.eh_entries = static_cast<uint16_t>(L.journal.size());
    h.eh_max = static_cast<uint16_t>((bs - sizeof(ExtentHeader)) / sizeof(Extent));
    std::memcpy(leaf.data(), &h, sizeof h);
    for (size_t i = 0; i < L.journal.size(); ++i) {
      Extent x{};
      x.ee_block = L.journal[i].logical;
      x.ee_len = static_cast<uint16_t>(L.journal[i].length);
      x.ee_start_lo = static_cast<uint32_t>(L.journal[i].physical);
      x.ee_start_hi = static_cast<uint16_t>(L.journal[i].physical >> 32);
      std::memcpy(leaf.data() + sizeof h + i * sizeof x, &x, sizeof x);
    }
    ExtentTail t{};
    t.et_checksum = extent_block_csum(inode_csum_seed(ctx.seed, kJournalIno, 0), leaf.data());
    std::memcpy(leaf.data() + sizeof h + h.eh_max.get() * sizeof(Extent), &t, sizeof t);
    out.add(L.journal_extent_leaf * bs, std::move(leaf), "journal extent leaf");
  }
  inodes.push_back({kJournalIno, in});

  std::memcpy(sb.s_jnl_blocks, in.i_block, sizeof in.i_block);
  sb.s_jnl_blocks[15] = in.i_size_high.get();
  sb.s_jnl_blocks[16] = in.i_size_lo.get();
  sb.s_jnl_backup_type = 1;  // EXT3_JNL_BACKUP_BLOCKS
  sb.s_journal_inum = kJournalIno;
}

}  // namespace mos::fsmake::ext4
