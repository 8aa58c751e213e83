#include "fsmake/ext4_layout.hpp"

#include <algorithm>
#include <string>

#include "fsmake/ext4.hpp"
#include "fsmake/ext4_structs.hpp"
#include "base/error.hpp"

namespace mos::fsmake::ext4 {

namespace {

constexpr uint64_t kMax32 = 0xFFFFFFFFull;
constexpr uint32_t kFlexGroups = 16;  // mke2fs.conf default flex_bg_size

uint64_t div_ceil(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

std::string mib_text(uint64_t bytes) {
  return std::to_string(bytes >> 20) + " MiB (" + std::to_string(bytes) + " bytes)";
}

// mke2fs's size classes from mke2fs.conf: the type decides block size and inode ratio.
struct SizeClass {
  uint32_t block_size;
  uint32_t inode_ratio;
};
SizeClass size_class(uint64_t kib) {
  constexpr uint64_t meg = 1024;  // fs_blocks_count is still in 1 KiB units at this point
  if (kib < 3 * meg) return {1024, 8192};                     // floppy
  if (kib < 512 * meg) return {1024, 4096};                   // small
  if (kib < 4ull * 1024 * 1024 * meg) return {4096, 16384};   // default
  if (kib < 16ull * 1024 * 1024 * meg) return {4096, 32768};  // big
  return {4096, 65536};                                       // huge
}

// lib/ext2fs/mkjournal.c ext2fs_default_journal_size (1.47.0).
int64_t default_journal_blocks(uint64_t blocks) {
  if (blocks < 2048) return -1;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

uint32_t reserved_gdt_blocks(const Geometry& g) {
  // Room to grow the filesystem 1024x (capped at 2^32 blocks) with the resize inode.
  uint64_t max_blocks = kMax32;
  if (g.blocks_count < max_blocks / 1024) max_blocks = g.blocks_count * 1024;
  uint64_t rsv_groups = div_ceil(max_blocks - g.first_data_block, g.blocks_per_group);
  uint64_t rsv = div_ceil(rsv_groups, g.desc_per_block()) - g.desc_blocks;
  return static_cast<uint32_t>(std::min<uint64_t>(rsv, g.addr_per_block()));
}

uint32_t lost_found_blocks(uint32_t block_size) {
  // mke2fs grows lost+found to 16 KiB (at least 2 blocks, at most 12 direct blocks).
  uint32_t blocks = 1, size = 0;
  for (int i = 1; i < 12; ++i) {
    size += block_size;
    if (size >= 16 * 1024 && size >= 2 * block_size) break;
    ++blocks;
  }
  return blocks;
}

}  // namespace

bool group_has_super(uint32_t group) {
  if (group <= 1) return true;
  for (uint32_t base : {3u, 5u, 7u}) {
    uint64_t p = base;
    while (p < group) p *= base;
    if (p == group) return true;
  }
  return false;
}

Geometry compute_geometry(uint64_t device_bytes, uint32_t sector, uint32_t block_size) {
  if (sector < 512 || sector > 4096 || (sector & (sector - 1)))
    throw_validation("ext4: logical sector size " + std::to_string(sector) +
                     " is not supported (need 512, 1024, 2048 or 4096)");
  if (block_size != 0 && block_size != 1024 && block_size != 2048 && block_size != 4096)
    throw_validation("ext4: block size " + std::to_string(block_size) + " is not 1024, 2048 or 4096");
  if (block_size != 0 && block_size < sector)
    throw_validation("ext4: block size " + std::to_string(block_size) +
                     " is smaller than the device's logical sector size " + std::to_string(sector));
  if (device_bytes < kMinDeviceBytes)
    throw_validation("ext4: device is " + mib_text(device_bytes) + "; at least 8 MiB is needed");
  if (device_bytes > kMaxDeviceBytes)
    throw_validation("ext4: device is " + std::to_string(device_bytes >> 30) +
                     " GiB; at most 16 TiB is supported");

  Geometry g;
  uint64_t kib = (device_bytes / 1024) & ~3ull;  // mke2fs rounds to the 4 KiB page first
  SizeClass cls = size_class(kib);
  uint64_t blocks;
  if (block_size == 0) {
    g.block_size = std::max(cls.block_size, sector);
    blocks = kib / (g.block_size / 1024);
  } else {
    g.block_size = block_size;
    blocks = device_bytes / block_size;
    if (block_size < 4096) blocks &= ~uint64_t{4096 / block_size - 1};
  }
  uint32_t inode_ratio = std::max(cls.inode_ratio, g.block_size);
  g.log_block_size = g.block_size == 1024 ? 0 : g.block_size == 2048 ? 1 : 2;
  g.first_data_block = g.block_size == 1024 ? 1 : 0;
  g.resize_inode = blocks <= kMax32;  // res_gdt.c stores 32-bit block numbers
  uint64_t want_inodes = std::min<uint64_t>(blocks * g.block_size / inode_ratio, kMax32);
  uint64_t r_blocks_param = static_cast<uint64_t>(5.0 * static_cast<double>(blocks) / 100.0);

  // lib/ext2fs/initialize.c: groups, inodes per group, reserved GDT, last-group trimming.
  g.blocks_per_group = g.block_size * 8;
  g.blocks_count = blocks;
  g.r_blocks_count = r_blocks_param;
  for (;;) {
    g.group_count = static_cast<uint32_t>(div_ceil(g.blocks_count - g.first_data_block, g.blocks_per_group));
    g.desc_blocks = static_cast<uint32_t>(div_ceil(g.group_count, g.desc_per_block()));
    uint64_t inodes = std::max<uint64_t>(want_inodes, kFirstIno + 1);
    uint64_t ipg = div_ceil(inodes, g.group_count);
    if (ipg > g.block_size * 8ull) {
      g.blocks_per_group -= 8;
      g.blocks_count = blocks;
      continue;
    }
    uint64_t max_ipg = 65536 - g.block_size / kInodeSize;
    if (ipg > max_ipg) ipg = max_ipg;
    uint64_t per_block = g.block_size / kInodeSize;
    for (;;) {
      uint64_t itb = div_ceil(ipg * kInodeSize, g.block_size);
      uint64_t fitted = itb * per_block;
      if (fitted < 8) fitted = 8;
      fitted &= ~7ull;
      if (fitted * g.group_count > kMax32) {
        --ipg;
        continue;
      }
      g.inodes_per_group = static_cast<uint32_t>(fitted);
      g.inode_blocks_per_group = static_cast<uint32_t>(div_ceil(fitted * kInodeSize, g.block_size));
      break;
    }
    g.inodes_count = g.inodes_per_group * g.group_count;
    g.reserved_gdt_blocks = g.resize_inode ? reserved_gdt_blocks(g) : 0;
    if (g.reserved_gdt_blocks + g.desc_blocks > g.blocks_per_group * 3 / 4)
      throw_validation("ext4: this size would need the meta_bg layout, which is not supported");
    uint64_t overhead = 3ull + g.inode_blocks_per_group + g.reserved_gdt_blocks + g.desc_blocks;
    if (overhead > g.blocks_per_group) throw_validation("ext4: too many inodes for this size");
    uint64_t last_overhead = 2ull + g.inode_blocks_per_group;
    if (group_has_super(g.group_count - 1)) last_overhead += 1 + g.desc_blocks + g.reserved_gdt_blocks;
    uint64_t rem = (g.blocks_count - g.first_data_block) % g.blocks_per_group;
    if (g.group_count == 1 && rem && rem < last_overhead)
      throw_validation("ext4: device is too small for one block group");
    if (rem && rem < last_overhead + 50) {  // a runt last group is dropped, as mke2fs does
      g.blocks_count -= rem;
      double ratio = 100.0 * static_cast<double>(r_blocks_param) / static_cast<double>(blocks);
      g.r_blocks_count = static_cast<uint64_t>(ratio * static_cast<double>(g.blocks_count) / 100.0);
      continue;
    }
    break;
  }
  int64_t journal = default_journal_blocks(g.blocks_count);
  if (journal < 0) throw_validation("ext4: device is too small for a journal");
  g.journal_blocks = static_cast<uint32_t>(journal);
  g.lost_found_blocks = lost_found_blocks(g.block_size);
  return g;
}

// ---- BlockMap ----

void BlockMap::mark(uint64_t start, uint64_t count) {
  if (count == 0) return;
  uint64_t end = start + count;
  auto it = used_.upper_bound(start);
  if (it != used_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= start) {  // overlaps or touches the previous run
      start = prev->first;
      end = std::max(end, prev->second);
      it = used_.erase(prev);
    }
  }
  while (it != used_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = used_.erase(it);
  }
  used_.emplace(start, end);
}

std::optional<uint64_t> BlockMap::first_free_run(uint64_t start, uint64_t finish, uint64_t count) const {
  uint64_t b = start;
  while (b < finish) {
    if (b + count > blocks_count_) return std::nullopt;
    auto it = used_.upper_bound(b);
    if (it != used_.begin() && std::prev(it)->second > b) {
      b = std::prev(it)->second;  // inside a used run: jump past it
      continue;
    }
    if (it == used_.end() || it->first >= b + count) return b;
    b = it->second;
  }
  return std::nullopt;
}

std::optional<std::pair<uint64_t, uint64_t>> BlockMap::next_free_extent(uint64_t start) const {
  auto b = first_free_run(start, blocks_count_, 1);
  if (!b) return std::nullopt;
  auto it = used_.upper_bound(*b);
  uint64_t end = it == used_.end() ? blocks_count_ : it->first;
  return std::make_pair(*b, end - *b);
}

uint64_t BlockMap::used_in(uint64_t first, uint64_t last) const {
  uint64_t end = last + 1, n = 0;
  auto it = used_.upper_bound(first);
  if (it != used_.begin()) --it;
  for (; it != used_.end() && it->first < end; ++it) {
    uint64_t s = std::max(it->first, first), e = std::min(it->second, end);
    if (e > s) n += e - s;
  }
  return n;
}

// ---- placement ----

namespace {

struct Placer {
  const Geometry& g;
  BlockMap& map;

  uint64_t fdb_if_zero(uint64_t b) const { return b ? b : g.first_data_block; }

  // alloc_tables.c flexbg_offset: where the next table of a flex group should start.
  uint64_t flexbg_offset(uint32_t group, uint64_t start_blk, uint32_t rem_grp, uint32_t elem) const {
    uint32_t flexbg = group / kFlexGroups;
    uint64_t size = uint64_t{rem_grp} * elem;
    if (size > g.blocks_per_group / 4) size = g.blocks_per_group / 4;
    if (start_blk && start_blk < g.blocks_count)
      if (auto r = map.first_free_run(start_blk, start_blk + size, elem)) return *r;
    start_blk = g.group_first_block(flexbg * kFlexGroups);
    uint32_t last_grp = std::min(group | (kFlexGroups - 1), g.group_count - 1);
    uint64_t last_blk = g.group_last_block(last_grp);
    if (auto r = map.first_free_run(start_blk, last_blk, size)) return *r;
    if (auto r = map.first_free_run(start_blk, last_blk, elem)) return *r;
    if (auto r = map.first_free_run(g.first_data_block, last_blk, elem)) return *r;
    return 0;
  }

  uint64_t take(uint64_t start, uint64_t last_blk, uint32_t group, uint32_t count, const char* what) {
    auto r = map.first_free_run(fdb_if_zero(start), last_blk, count);
    if (!r && count == 1) r = map.first_free_run(g.group_first_block(group), last_blk, 1);
    if (!r) throw_validation(std::string("ext4: no room for the ") + what + " of group " + std::to_string(group));
    map.mark(*r, count);
    return *r;
  }

  // alloc_tables.c ext2fs_allocate_group_table with flex_bg.
  void place_tables(std::vector<GroupTables>& t) {
    for (uint32_t grp = 0; grp < g.group_count; ++grp) {
      uint32_t last_grp = std::min(grp | (kFlexGroups - 1), g.group_count - 1);
      uint32_t rem = last_grp - grp + 1;
      uint64_t last_blk = g.group_last_block(last_grp);
      uint32_t table_offset = kFlexGroups;
      bool leader = grp % kFlexGroups == 0;
      if (leader && last_grp == g.group_count - 1) {  // last flex group: keep tables contiguous
        uint32_t n = last_grp & (kFlexGroups - 1);
        table_offset = n == 0 ? kFlexGroups : n + 1;
      }
      uint64_t prev = leader ? 0 : t[grp - 1].block_bitmap + 1;
      t[grp].block_bitmap = take(flexbg_offset(grp, prev, rem, 1), last_blk, grp, 1, "block bitmap");
      prev = leader ? t[grp].block_bitmap + table_offset : t[grp - 1].inode_bitmap + 1;
      t[grp].inode_bitmap = take(flexbg_offset(grp, prev, rem, 1), last_blk, grp, 1, "inode bitmap");
      prev = leader ? t[grp].inode_bitmap + table_offset : t[grp - 1].inode_table + g.inode_blocks_per_group;
      t[grp].inode_table = take(flexbg_offset(grp, prev, rem, g.inode_blocks_per_group), last_blk, grp,
                                g.inode_blocks_per_group, "inode table");
    }
  }

  // ext2fs_new_block2: first free block at or after goal, wrapping to the start.
  uint64_t alloc_block(uint64_t goal, const char* what) {
    auto r = map.first_free_run(goal, g.blocks_count, 1);
    if (!r) r = map.first_free_run(g.first_data_block, goal, 1);
    if (!r) throw_validation(std::string("ext4: no room for ") + what);
    map.mark(*r, 1);
    return *r;
  }

  uint64_t group_free(uint32_t grp) const {
    return g.blocks_in_group(grp) - map.used_in(g.group_first_block(grp), g.group_last_block(grp));
  }

  // mkjournal.c get_midpoint_journal_block.
  uint64_t journal_goal() const {
    uint32_t group = g.group_of((g.blocks_count - g.first_data_block) / 2);
    uint32_t start, end;
    if (group > kFlexGroups) {
      group &= ~(kFlexGroups - 1);
      while (group < g.group_count && group_free(group) == 0) ++group;
      if (group == g.group_count) group = 0;
      start = group;
    } else {
      start = group > 0 ? group - 1 : group;
    }
    end = group + 1 < g.group_count ? group + 1 : group;
    uint32_t best = start;
    for (uint32_t i = start + 1; i <= end; ++i)
      if (group_free(i) > group_free(best)) best = i;
    return g.group_first_block(best);
  }

  // ext2fs_fallocate: free runs from the goal onwards, cut into initialized-extent lengths.
  std::vector<FileExtent> alloc_file(uint64_t goal, uint32_t blocks) {
    std::vector<FileExtent> out;
    uint32_t logical = 0;
    uint64_t cursor = goal;
    bool wrapped = false;
    while (logical < blocks) {
      auto run = map.next_free_extent(cursor);
      if (!run) {
        if (wrapped) throw_validation("ext4: no room for the journal");
        wrapped = true;
        cursor = g.first_data_block;
        continue;
      }
      uint64_t n = std::min<uint64_t>(run->second, blocks - logical);
      map.mark(run->first, n);
      for (uint64_t done = 0; done < n;) {
        uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(n - done, kMaxInitExtentLen));
        out.push_back({logical, run->first + done, len});
        logical += len;
        done += len;
      }
      cursor = run->first + n;
    }
    return out;
  }
};

}  // namespace

Layout compute_layout(const Geometry& geo) {
  Layout L;
  L.geo = geo;
  L.used = BlockMap(geo.blocks_count);
  Placer p{L.geo, L.used};

  for (uint32_t grp = 0; grp < geo.group_count; ++grp) {
    if (!group_has_super(grp)) continue;
    L.backup_groups.push_back(grp);
    L.used.mark(geo.group_first_block(grp), 1ull + geo.desc_blocks + geo.reserved_gdt_blocks);
  }
  if (geo.first_data_block) L.used.mark(0, 1);  // block 0 of a 1 KiB filesystem is outside it
  L.tables.resize(geo.group_count);
  p.place_tables(L.tables);
  L.overhead_clusters = L.used.used_in(geo.first_data_block, geo.blocks_count - 1);

  // Same order as mke2fs: root, lost+found, resize inode, journal.
  L.root_block = p.alloc_block(geo.group_first_block(0), "the root directory");
  uint64_t prev = 0;
  for (uint32_t i = 0; i < geo.lost_found_blocks; ++i) {
    uint64_t b = p.alloc_block(i == 0 ? geo.group_first_block(0) : prev, "lost+found");
    if (!L.lost_found.empty() && L.lost_found.back().physical + L.lost_found.back().length == b)
      L.lost_found.back().length++;
    else
      L.lost_found.push_back({i, b, 1});
    prev = b;
  }
  if (geo.resize_inode) {
    uint64_t goal = uint64_t{geo.first_data_block} + geo.desc_blocks + geo.reserved_gdt_blocks + 2 +
                    geo.inode_blocks_per_group;
    L.resize_dind_block = p.alloc_block(goal, "the resize inode");
  }
  uint64_t goal = p.journal_goal();
  L.journal = p.alloc_file(goal, geo.journal_blocks);
  if (L.journal.size() > 4) {  // i_block holds 4 extents; more need one leaf block
    uint32_t leaf_capacity = (geo.block_size - sizeof(ExtentHeader) - sizeof(ExtentTail)) / sizeof(Extent);
    if (L.journal.size() > leaf_capacity) throw_validation("ext4: free space too fragmented for the journal");
    L.journal_extent_leaf = p.alloc_block(goal > geo.first_data_block ? goal - 1 : goal, "the journal extent tree");
  }
  L.overhead_clusters += geo.journal_blocks + geo.first_data_block;
  return L;
}

}  // namespace mos::fsmake::ext4
