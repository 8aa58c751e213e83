// Group descriptors, bitmaps, the group-0 inode table block(s), the resize inode and the
// superblock with its sparse_super backups. Groups that hold nothing but their own superblock
// backup stay BLOCK_UNINIT and INODE_UNINIT, so nothing is written for them.
#include <algorithm>
#include <cstring>
#include <memory>

#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_internal.hpp"

namespace mos::fsmake::ext4 {

Inode new_inode(const BuildContext& ctx, uint16_t mode, uint16_t links) {
  Inode in{};
  in.i_mode = mode;
  in.i_links_count = links;
  in.i_atime = ctx.now;
  in.i_ctime = ctx.now;
  in.i_mtime = ctx.now;
  in.i_crtime = ctx.now;
  in.i_extra_isize = kExtraIsize;
  return in;
}

void set_size(Inode& in, uint64_t bytes) {
  set_lo_hi(in.i_size_lo, in.i_size_high, bytes);
}

void set_blocks(Inode& in, const Geometry& g, uint64_t fs_blocks) {
  uint64_t sectors = fs_blocks * (g.block_size / 512);
  in.i_blocks_lo = static_cast<uint32_t>(sectors);
  in.i_blocks_high = static_cast<uint16_t>(sectors >> 32);
}

void set_inline_extents(Inode& in, const std::vector<FileExtent>& extents) {
  in.i_flags = in.i_flags.get() | kInodeFlagExtents;
  ExtentHeader h{};
  h.eh_magic = kExtentMagic;
  h.eh_entries = static_cast<uint16_t>(extents.size());
  h.eh_max = 4;
  auto* p = reinterpret_cast<uint8_t*>(in.i_block);
  std::memcpy(p, &h, sizeof h);
  for (size_t i = 0; i < extents.size(); ++i) {
    Extent x{};
    x.ee_block = extents[i].logical;
    x.ee_len = static_cast<uint16_t>(extents[i].length);
    x.ee_start_lo = static_cast<uint32_t>(extents[i].physical);
    x.ee_start_hi = static_cast<uint16_t>(extents[i].physical >> 32);
    std::memcpy(p + sizeof h + i * sizeof x, &x, sizeof x);
  }
}

void build_resize_inode(const BuildContext& ctx, ChunkList& out, std::vector<InodeSlot>& inodes) {
  const Geometry& g = ctx.geo();
  const Layout& L = ctx.layout;
  if (!g.resize_inode) return;
  uint32_t bs = g.block_size, apb = g.addr_per_block();
  // The double-indirect block points at the primary reserved GDT blocks; each of those, read
  // as an indirect block, lists its copies in the backup groups (res_gdt.c's layout).
  std::vector<uint8_t> dind(bs, 0);
  uint64_t first_rsv = uint64_t{g.first_data_block} + 1 + g.desc_blocks;
  uint64_t backups = L.backup_groups.size() - 1;
  // The primary reserved GDT blocks are contiguous: one buffer (up to 1024 blocks) and one
  // planned write, not a block-sized allocation each.
  std::vector<uint8_t> rsv(size_t{g.reserved_gdt_blocks} * bs, 0);
  for (uint32_t k = 0; k < g.reserved_gdt_blocks; ++k) {
    uint64_t primary = first_rsv + k;
    store_le32(dind.data() + ((g.desc_blocks + k) % apb) * 4, static_cast<uint32_t>(primary));
    uint8_t* ind = rsv.data() + size_t{k} * bs;
    for (uint64_t j = 0; j < backups; ++j)
      store_le32(ind + j * 4, static_cast<uint32_t>(primary + uint64_t{L.backup_groups[j + 1]} * g.blocks_per_group));
  }
  if (!rsv.empty()) out.add(first_rsv * bs, std::move(rsv), "reserved GDT blocks (resize inode)");
  out.add(L.resize_dind_block * bs, std::move(dind), "resize inode double-indirect block");

  Inode in = new_inode(ctx, kModeReg | 0600, 1);
  in.i_block[kDindBlockIndex] = static_cast<uint32_t>(L.resize_dind_block);
  set_size(in, (uint64_t{apb} * apb + apb + 12) * bs);
  set_blocks(in, g, 1 + uint64_t{g.reserved_gdt_blocks} * (1 + backups));
  inodes.push_back({kResizeIno, in});
}

namespace {

void set_bits(std::vector<uint8_t>& bm, uint64_t from, uint64_t to) {  // [from, to)
  for (uint64_t i = from; i < to;) {
    if (i % 8 == 0 && i + 8 <= to) {
      bm[i / 8] = 0xFF;
      i += 8;
    } else {
      bm[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
      ++i;
    }
  }
}

std::vector<uint8_t> block_bitmap(const Layout& L, uint32_t grp) {
  const Geometry& g = L.geo;
  std::vector<uint8_t> bm(g.block_size, 0);
  uint64_t first = g.group_first_block(grp), end = g.group_last_block(grp) + 1;
  auto& runs = L.used.runs();
  auto it = runs.upper_bound(first);
  if (it != runs.begin()) --it;
  for (; it != runs.end() && it->first < end; ++it) {
    uint64_t s = std::max(it->first, first), e = std::min(it->second, end);
    if (e > s) set_bits(bm, s - first, e - first);
  }
  set_bits(bm, end - first, uint64_t{g.block_size} * 8);  // padding past a short last group
  return bm;
}

}  // namespace

void build_groups_and_super(const BuildContext& ctx, const std::string& label, ChunkList& metadata,
                            ChunkList& supers, ChunkList& primary, std::vector<InodeSlot>& inodes, Superblock& sb) {
  const Geometry& g = ctx.geo();
  const Layout& L = ctx.layout;
  uint32_t bs = g.block_size;
  uint32_t used_inodes_g0 = kFirstIno;  // inodes 1..11: reserved ones plus lost+found

  // Group 0 inode bitmap and the inode table blocks holding inodes 1..11.
  std::vector<uint8_t> ibm(bs, 0);
  set_bits(ibm, 0, used_inodes_g0);
  set_bits(ibm, g.inodes_per_group, uint64_t{bs} * 8);
  uint32_t ibm_csum = bitmap_csum(ctx.seed, ibm.data(), g.inodes_per_group / 8);
  metadata.add(L.tables[0].inode_bitmap * bs, std::move(ibm), "group 0 inode bitmap");

  uint32_t itable_bytes = ((used_inodes_g0 * kInodeSize + bs - 1) / bs) * bs;
  std::vector<uint8_t> itable(itable_bytes, 0);
  Inode bad{};  // inode 1 (bad blocks): empty, with times, as mke2fs writes it
  bad.i_atime = ctx.now;
  bad.i_ctime = ctx.now;
  bad.i_mtime = ctx.now;
  inodes.push_back({kBadBlocksIno, bad});
  for (uint32_t ino : {3u, 4u, 5u, 6u, 9u, 10u}) inodes.push_back({ino, Inode{}});  // empty, but checksummed
  for (auto& slot : inodes) {
    set_inode_csum(ctx.seed, slot.ino, slot.inode);
    std::memcpy(itable.data() + (slot.ino - 1) * kInodeSize, &slot.inode, kInodeSize);
  }
  metadata.add(L.tables[0].inode_table * bs, std::move(itable), "group 0 inode table (inodes 1-11)");

  // Group descriptors.
  std::vector<uint8_t> gdt(size_t{g.desc_blocks} * bs, 0);
  uint64_t free_total = 0;
  for (uint32_t grp = 0; grp < g.group_count; ++grp) {
    uint64_t first = g.group_first_block(grp), last = g.group_last_block(grp);
    uint32_t n = g.blocks_in_group(grp);
    uint32_t used = static_cast<uint32_t>(L.used.used_in(first, last));
    uint32_t base_meta = group_has_super(grp) ? 1 + g.desc_blocks + g.reserved_gdt_blocks : 0;
    bool last_group = grp + 1 == g.group_count;
    bool block_init = last_group || used > base_meta;
    uint32_t free_blocks = n - used;
    free_total += free_blocks;
    uint32_t free_inodes = grp == 0 ? g.inodes_per_group - used_inodes_g0 : g.inodes_per_group;

    GroupDesc d{};
    const GroupTables& t = L.tables[grp];
    set_lo_hi(d.bg_block_bitmap_lo, d.bg_block_bitmap_hi, t.block_bitmap);
    set_lo_hi(d.bg_inode_bitmap_lo, d.bg_inode_bitmap_hi, t.inode_bitmap);
    set_lo_hi(d.bg_inode_table_lo, d.bg_inode_table_hi, t.inode_table);
    set_lo_hi(d.bg_free_blocks_count_lo, d.bg_free_blocks_count_hi, free_blocks);
    set_lo_hi(d.bg_free_inodes_count_lo, d.bg_free_inodes_count_hi, free_inodes);
    set_lo_hi(d.bg_itable_unused_lo, d.bg_itable_unused_hi, free_inodes);
    if (grp == 0) d.bg_used_dirs_count_lo = 2;
    uint16_t flags = 0;
    if (grp != 0) flags |= kBgInodeUninit;
    if (!block_init) flags |= kBgBlockUninit;
    if (ctx.full_init) flags |= kBgItableZeroed;
    d.bg_flags = flags;
    if (block_init) {
      auto bm = block_bitmap(L, grp);
      set_lo_hi(d.bg_block_bitmap_csum_lo, d.bg_block_bitmap_csum_hi, bitmap_csum(ctx.seed, bm.data(), g.blocks_per_group / 8));
      metadata.add(t.block_bitmap * bs, std::move(bm), "block bitmap");
    }
    if (grp == 0) set_lo_hi(d.bg_inode_bitmap_csum_lo, d.bg_inode_bitmap_csum_hi, ibm_csum);
    d.bg_checksum = group_desc_csum(ctx.seed, grp, d);
    std::memcpy(gdt.data() + size_t{grp} * sizeof d, &d, sizeof d);
  }

  // Superblock (journal fields were filled by build_journal).
  sb.s_inodes_count = g.inodes_count;
  set_lo_hi(sb.s_blocks_count_lo, sb.s_blocks_count_hi, g.blocks_count);
  set_lo_hi(sb.s_r_blocks_count_lo, sb.s_r_blocks_count_hi, g.r_blocks_count);
  set_lo_hi(sb.s_free_blocks_count_lo, sb.s_free_blocks_count_hi, free_total);
  sb.s_free_inodes_count = g.inodes_count - used_inodes_g0;
  sb.s_first_data_block = g.first_data_block;
  sb.s_log_block_size = g.log_block_size;
  sb.s_log_cluster_size = g.log_block_size;
  sb.s_blocks_per_group = g.blocks_per_group;
  sb.s_clusters_per_group = g.blocks_per_group;
  sb.s_inodes_per_group = g.inodes_per_group;
  sb.s_wtime = ctx.now;
  sb.s_max_mnt_count = 0xFFFF;  // -1: no mount-count fsck (enable_periodic_fsck = 0)
  sb.s_magic = kSuperMagic;
  sb.s_state = 1;   // clean
  sb.s_errors = 1;  // continue
  sb.s_lastcheck = ctx.now;
  sb.s_rev_level = 1;  // dynamic
  sb.s_first_ino = kFirstIno;
  sb.s_inode_size = kInodeSize;
  sb.s_feature_compat = kCompatHasJournal | kCompatExtAttr | kCompatDirIndex | (g.resize_inode ? kCompatResizeInode : 0);
  sb.s_feature_incompat = kIncompatFiletype | kIncompatExtents | kIncompat64bit | kIncompatFlexBg;
  sb.s_feature_ro_compat = kRoCompatSparseSuper | kRoCompatLargeFile | kRoCompatHugeFile | kRoCompatDirNlink |
                           kRoCompatExtraIsize | kRoCompatMetadataCsum;
  std::memcpy(sb.s_uuid, ctx.uuid.data(), 16);
  std::memcpy(sb.s_volume_name, label.data(), std::min<size_t>(label.size(), 16));
  sb.s_reserved_gdt_blocks = static_cast<uint16_t>(g.reserved_gdt_blocks);
  for (int i = 0; i < 4; ++i) sb.s_hash_seed[i] = load_le32(ctx.hash_seed.data() + 4 * i);
  sb.s_def_hash_version = 1;  // half_md4
  sb.s_desc_size = kDescSize;
  sb.s_default_mount_opts = 0x0004 | 0x0008;  // user_xattr, acl
  sb.s_mkfs_time = ctx.now;
  sb.s_min_extra_isize = kExtraIsize;
  sb.s_want_extra_isize = kExtraIsize;
  sb.s_flags = 1;  // signed directory hash (x86 char)
  sb.s_log_groups_per_flex = static_cast<uint8_t>(g.log_groups_per_flex);
  sb.s_checksum_type = 1;  // crc32c
  sb.s_overhead_clusters = static_cast<uint32_t>(L.overhead_clusters);

  // Backups first, primary last; group 0's superblock sits at byte 1024 whatever the block size.
  // One descriptor table buffer serves every copy (8 MiB x 25 places at 16 TiB).
  auto shared_gdt = std::make_shared<const std::vector<uint8_t>>(std::move(gdt));
  for (uint32_t grp : L.backup_groups) {
    Superblock copy = sb;
    copy.s_block_group_nr = static_cast<uint16_t>(grp);
    if (grp != 0) copy.s_state = 0;  // ext2fs_flush writes backups without the "valid" bit
    set_superblock_csum(copy);
    uint64_t sb_off = grp == 0 ? kSuperOffset : g.group_first_block(grp) * bs;
    std::vector<uint8_t> raw(grp == 0 && bs > 2048 ? bs - kSuperOffset : kSuperSize, 0);
    std::memcpy(raw.data(), &copy, sizeof copy);  // at 4 KiB, the rest of block 0 is zeroed like mke2fs
    if (grp == 0) primary.add(sb_off, std::move(raw), "primary superblock");
    else supers.add(sb_off, std::move(raw), "backup superblock");
    supers.add((g.group_first_block(grp) + 1) * bs, shared_gdt, grp == 0 ? "group descriptors" : "backup group descriptors");
  }
}

}  // namespace mos::fsmake::ext4
