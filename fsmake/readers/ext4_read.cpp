// Reading side of fsmake/ext4: superblock parsing and a structural validator for freshly made
// filesystems (used by round-trip tests; e2fsck stays the real oracle).
#include <bit>
#include <cstring>
#include <string>

#include "fsmake/readers/ext4_read.hpp"
#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_layout.hpp"
#include "fsmake/ext4_structs.hpp"
#include "base/error.hpp"

namespace mos::fsmake::ext4 {

uint32_t SuperblockInfo::group_count() const {
  if (!blocks_per_group) return 0;
  return static_cast<uint32_t>((blocks_count - first_data_block + blocks_per_group - 1) / blocks_per_group);
}

SuperblockInfo parse_superblock(const uint8_t* raw) {
  Superblock sb;
  std::memcpy(&sb, raw, sizeof sb);
  if (sb.s_magic.get() != kSuperMagic) throw_validation("ext4: no ext2/3/4 superblock magic at byte 1024");
  if (sb.s_log_block_size.get() > 6) throw_validation("ext4: superblock has an impossible block size");
  SuperblockInfo i;
  bool is64 = sb.s_feature_incompat.get() & kIncompat64bit;
  auto hi = [&](const le32& v) { return is64 ? uint64_t{v.get()} << 32 : 0; };
  i.blocks_count = sb.s_blocks_count_lo.get() | hi(sb.s_blocks_count_hi);
  i.free_blocks = sb.s_free_blocks_count_lo.get() | hi(sb.s_free_blocks_count_hi);
  i.reserved_blocks = sb.s_r_blocks_count_lo.get() | hi(sb.s_r_blocks_count_hi);
  i.inodes_count = sb.s_inodes_count;
  i.free_inodes = sb.s_free_inodes_count;
  i.block_size = 1024u << sb.s_log_block_size.get();
  i.first_data_block = sb.s_first_data_block;
  i.blocks_per_group = sb.s_blocks_per_group;
  i.inodes_per_group = sb.s_inodes_per_group;
  i.inode_size = sb.s_inode_size;
  i.reserved_gdt_blocks = sb.s_reserved_gdt_blocks;
  i.desc_size = is64 ? sb.s_desc_size.get() : 32;
  i.log_groups_per_flex = sb.s_log_groups_per_flex;
  i.feature_compat = sb.s_feature_compat;
  i.feature_incompat = sb.s_feature_incompat;
  i.feature_ro_compat = sb.s_feature_ro_compat;
  i.journal_inum = sb.s_journal_inum;
  i.overhead_clusters = sb.s_overhead_clusters;
  std::memcpy(i.uuid.data(), sb.s_uuid, 16);
  i.label.assign(sb.s_volume_name, strnlen(sb.s_volume_name, sizeof sb.s_volume_name));
  i.checksum_ok = !(i.feature_ro_compat & kRoCompatMetadataCsum) || superblock_csum_ok(sb);
  if (!i.blocks_per_group || !i.inodes_per_group || i.blocks_count <= i.first_data_block)
    throw_validation("ext4: superblock geometry is inconsistent");
  return i;
}

SuperblockInfo read_superblock(const io::Fd& fd) {
  uint8_t raw[kSuperSize];
  fd.pread_exact(raw, sizeof raw, kSuperOffset);
  return parse_superblock(raw);
}

namespace {

struct Reader {
  const io::Fd& fd;
  SuperblockInfo sb;
  uint32_t seed = 0;
  std::vector<std::string> problems;

  std::vector<uint8_t> block(uint64_t b, uint32_t n = 1) const {
    return fd.pread_vec(size_t{sb.block_size} * n, b * sb.block_size);
  }
  void problem(std::string s) { problems.push_back(std::move(s)); }
  uint64_t group_first(uint32_t g) const { return sb.first_data_block + uint64_t{g} * sb.blocks_per_group; }
  uint32_t blocks_in_group(uint32_t g) const {
    uint64_t first = group_first(g);
    uint64_t end = std::min<uint64_t>(first + sb.blocks_per_group, sb.blocks_count);
    return static_cast<uint32_t>(end - first);
  }

  Inode inode(uint64_t itable_block, uint32_t ino) const {
    uint32_t per_block = sb.block_size / sb.inode_size;
    uint32_t idx = (ino - 1) % sb.inodes_per_group;
    auto blk = block(itable_block + idx / per_block);
    Inode in;
    std::memcpy(&in, blk.data() + (idx % per_block) * sb.inode_size, sizeof in);
    return in;
  }

  // Leaf extents of a depth-0 or depth-1 extent tree. Entry counts come from the disk: each is
  // checked against the room its node has (60 bytes in the inode, a block otherwise).
  std::vector<FileExtent> extents(uint32_t ino, const Inode& in) {
    std::vector<FileExtent> out;
    auto entries_fit = [&](const ExtentHeader& h, size_t room) {
      if (sizeof h + size_t{h.eh_entries.get()} * sizeof(Extent) <= room) return true;
      problem("inode " + std::to_string(ino) + ": extent node claims " +
              std::to_string(h.eh_entries.get()) + " entries, more than fit");
      return false;
    };
    auto read_leaf = [&](const uint8_t* p, size_t room) {
      ExtentHeader h;
      std::memcpy(&h, p, sizeof h);
      if (h.eh_magic.get() != kExtentMagic) {
        problem("inode " + std::to_string(ino) + ": bad extent magic");
        return;
      }
      if (!entries_fit(h, room)) return;
      for (uint32_t e = 0; e < h.eh_entries.get(); ++e) {
        Extent x;
        std::memcpy(&x, p + sizeof h + e * sizeof x, sizeof x);
        out.push_back({x.ee_block, (uint64_t{x.ee_start_hi.get()} << 32) | x.ee_start_lo.get(), x.ee_len});
      }
    };
    ExtentHeader root;
    std::memcpy(&root, in.i_block, sizeof root);
    if (root.eh_depth.get() == 0) {
      read_leaf(reinterpret_cast<const uint8_t*>(in.i_block), sizeof in.i_block);
      return out;
    }
    if (!entries_fit(root, sizeof in.i_block)) return out;
    for (uint32_t e = 0; e < root.eh_entries.get(); ++e) {
      ExtentIdx idx;
      std::memcpy(&idx, reinterpret_cast<const uint8_t*>(in.i_block) + sizeof root + e * sizeof idx, sizeof idx);
      uint64_t leaf = (uint64_t{idx.ei_leaf_hi.get()} << 32) | idx.ei_leaf_lo.get();
      auto blk = block(leaf);
      ExtentHeader h;
      std::memcpy(&h, blk.data(), sizeof h);
      size_t tail_at = sizeof h + sizeof(Extent) * size_t{h.eh_max.get()};
      if (tail_at + sizeof(ExtentTail) > blk.size()) {
        problem("inode " + std::to_string(ino) + ": extent block eh_max " +
                std::to_string(h.eh_max.get()) + " does not fit the block");
        continue;
      }
      ExtentTail t;
      std::memcpy(&t, blk.data() + tail_at, sizeof t);
      if (t.et_checksum.get() != extent_block_csum(inode_csum_seed(seed, ino, in.i_generation), blk.data()))
        problem("inode " + std::to_string(ino) + ": extent block checksum mismatch");
      read_leaf(blk.data(), tail_at);
    }
    return out;
  }

  void check_dir_block(uint32_t ino, const Inode& in, const std::vector<uint8_t>& blk,
                       std::vector<std::pair<std::string, uint32_t>>& names) {
    DirTail tail;
    std::memcpy(&tail, blk.data() + sb.block_size - sizeof tail, sizeof tail);
    if (tail.det_rec_len.get() != 12 || tail.det_reserved_ft != 0xDE)
      problem("dir inode " + std::to_string(ino) + ": missing checksum tail");
    else if (tail.det_checksum.get() != dir_block_csum(inode_csum_seed(seed, ino, in.i_generation), blk.data(), sb.block_size))
      problem("dir inode " + std::to_string(ino) + ": directory block checksum mismatch");
    uint32_t off = 0, end = sb.block_size - sizeof tail;
    while (off < end) {
      DirEntry d;
      std::memcpy(&d, blk.data() + off, sizeof d);
      if (d.rec_len.get() < 8 || off + d.rec_len.get() > end) {
        problem("dir inode " + std::to_string(ino) + ": bad rec_len at " + std::to_string(off));
        return;
      }
      if (d.inode.get()) names.emplace_back(std::string(reinterpret_cast<const char*>(blk.data() + off + 8), d.name_len), d.inode);
      off += d.rec_len.get();
    }
  }
};

}  // namespace

std::vector<std::string> validate(const io::Fd& fd) {
  Reader r{fd, read_superblock(fd), 0, {}};
  auto& sb = r.sb;
  if (!sb.checksum_ok) r.problem("superblock checksum mismatch");
  if (!(sb.feature_ro_compat & kRoCompatMetadataCsum)) r.problem("metadata_csum is not enabled");
  if (sb.desc_size != kDescSize || sb.inode_size != kInodeSize) r.problem("unexpected descriptor or inode size");
  if (!r.problems.empty()) return r.problems;
  r.seed = csum_seed(sb.uuid.data());
  uint32_t groups = sb.group_count();
  uint32_t per_block = sb.block_size / sb.desc_size;
  uint32_t desc_blocks = (groups + per_block - 1) / per_block;
  auto gdt = r.block(sb.first_data_block + 1, desc_blocks);

  uint64_t free_blocks = 0, free_inodes = 0;
  std::vector<GroupDesc> descs(groups);
  for (uint32_t g = 0; g < groups; ++g) {
    GroupDesc& d = descs[g];
    std::memcpy(&d, gdt.data() + size_t{g} * sizeof d, sizeof d);
    std::string G = "group " + std::to_string(g) + ": ";
    if (d.bg_checksum.get() != group_desc_csum(r.seed, g, d)) r.problem(G + "descriptor checksum mismatch");
    uint32_t bfree = get_lo_hi(d.bg_free_blocks_count_lo, d.bg_free_blocks_count_hi);
    uint32_t ifree = get_lo_hi(d.bg_free_inodes_count_lo, d.bg_free_inodes_count_hi);
    free_blocks += bfree;
    free_inodes += ifree;
    uint64_t bb = get_lo_hi(d.bg_block_bitmap_lo, d.bg_block_bitmap_hi);
    uint64_t ib = get_lo_hi(d.bg_inode_bitmap_lo, d.bg_inode_bitmap_hi);
    uint64_t it = get_lo_hi(d.bg_inode_table_lo, d.bg_inode_table_hi);
    uint32_t n = r.blocks_in_group(g);
    if (!(d.bg_flags.get() & kBgBlockUninit)) {
      auto bm = r.block(bb);
      uint32_t csum = get_lo_hi(d.bg_block_bitmap_csum_lo, d.bg_block_bitmap_csum_hi);
      if (csum != bitmap_csum(r.seed, bm.data(), sb.blocks_per_group / 8)) r.problem(G + "block bitmap checksum mismatch");
      uint32_t used = 0;
      for (uint32_t i = 0; i < n; ++i) used += (bm[i / 8] >> (i % 8)) & 1;
      if (n - used != bfree) r.problem(G + "free block count " + std::to_string(bfree) + " but bitmap says " + std::to_string(n - used));
    } else {
      uint32_t meta = 0;
      bool has_super = group_has_super(g);
      if (has_super) meta += 1 + desc_blocks + sb.reserved_gdt_blocks;
      uint64_t first = r.group_first(g), last = first + n;
      for (uint64_t b : {bb, ib}) meta += b >= first && b < last;
      for (uint64_t b = it; b < it + sb.inodes_per_group * sb.inode_size / sb.block_size; ++b) meta += b >= first && b < last;
      if (n - meta != bfree) r.problem(G + "uninit group free count " + std::to_string(bfree) + " != " + std::to_string(n - meta));
      if (g + 1 == groups) r.problem(G + "last group must not be BLOCK_UNINIT");
    }
    if (!(d.bg_flags.get() & kBgInodeUninit)) {
      auto bm = r.block(ib);
      uint32_t csum = get_lo_hi(d.bg_inode_bitmap_csum_lo, d.bg_inode_bitmap_csum_hi);
      if (csum != bitmap_csum(r.seed, bm.data(), sb.inodes_per_group / 8)) r.problem(G + "inode bitmap checksum mismatch");
      uint32_t used = 0;
      for (uint32_t i = 0; i < sb.inodes_per_group; ++i) used += (bm[i / 8] >> (i % 8)) & 1;
      if (sb.inodes_per_group - used != ifree) r.problem(G + "free inode count disagrees with the bitmap");
    } else if (ifree != sb.inodes_per_group) {
      r.problem(G + "INODE_UNINIT group with used inodes");
    }
  }
  if (free_blocks != sb.free_blocks) r.problem("superblock free blocks " + std::to_string(sb.free_blocks) + " != sum of groups " + std::to_string(free_blocks));
  if (free_inodes != sb.free_inodes) r.problem("superblock free inodes disagree with the groups");

  for (uint32_t g = 1; g < groups; ++g) {
    if (!group_has_super(g)) continue;
    uint64_t off = r.group_first(g) * sb.block_size;  // backups start their block, even at 1 KiB
    auto raw = fd.pread_vec(kSuperSize, off);
    Superblock copy;
    std::memcpy(&copy, raw.data(), sizeof copy);
    if (copy.s_magic.get() != kSuperMagic || !superblock_csum_ok(copy) || copy.s_block_group_nr.get() != g ||
        std::memcmp(copy.s_uuid, sb.uuid.data(), 16) != 0)
      r.problem("backup superblock in group " + std::to_string(g) + " is missing or wrong");
  }

  uint64_t it0 = get_lo_hi(descs[0].bg_inode_table_lo, descs[0].bg_inode_table_hi);
  for (uint32_t ino = 1; ino <= kFirstIno; ++ino) {
    Inode in = r.inode(it0, ino);
    static const Inode zero{};
    if (std::memcmp(&in, &zero, sizeof in) == 0) continue;
    uint32_t c = inode_csum(r.seed, ino, in);
    bool ok = in.i_checksum_lo.get() == (c & 0xFFFF) && (in.i_extra_isize.get() < 4 || in.i_checksum_hi.get() == (c >> 16));
    if (!ok) r.problem("inode " + std::to_string(ino) + " checksum mismatch");
  }

  // Root directory must list ".", ".." and lost+found.
  Inode root = r.inode(it0, kRootIno);
  std::vector<std::pair<std::string, uint32_t>> names;
  for (auto& e : r.extents(kRootIno, root))
    for (uint32_t i = 0; i < e.length; ++i) r.check_dir_block(kRootIno, root, r.block(e.physical + i), names);
  bool has_lf = false;
  for (auto& [n, ino] : names) has_lf |= n == "lost+found" && ino == kLostFoundIno;
  if (names.size() < 3 || names[0].first != "." || names[1].first != ".." || !has_lf)
    r.problem("root directory does not hold ., .. and lost+found");
  Inode lf = r.inode(it0, kLostFoundIno);
  names.clear();
  for (auto& e : r.extents(kLostFoundIno, lf))
    for (uint32_t i = 0; i < e.length; ++i) r.check_dir_block(kLostFoundIno, lf, r.block(e.physical + i), names);
  if (names.size() != 2) r.problem("lost+found is not an empty directory");

  if (sb.feature_compat & kCompatHasJournal) {
    Inode j = r.inode(it0, sb.journal_inum);
    auto ext = r.extents(sb.journal_inum, j);
    uint64_t len = 0;
    for (auto& e : ext) len += e.length;
    if (ext.empty()) {
      r.problem("journal inode has no blocks");
    } else {
      auto jb = r.block(ext[0].physical);
      JournalSuperblock js;
      std::memcpy(&js, jb.data(), sizeof js);
      if (js.h_magic.get() != kJbd2Magic || js.h_blocktype.get() != kJbd2SuperblockV2 ||
          js.s_blocksize.get() != sb.block_size || js.s_maxlen.get() != len || js.s_start.get() != 0)
        r.problem("journal superblock is wrong");
    }
  }
  return r.problems;
}

}  // namespace mos::fsmake::ext4
