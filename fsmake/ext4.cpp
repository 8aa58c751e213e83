// plan_mkfs: validate, compute mke2fs's geometry and placement, then emit two steps:
// "metadata" (old primary superblock cleared, zero ranges, everything but the superblocks and
// descriptors) and "superblocks" (backups, then the primary) so a crash never leaves a
// valid-looking superblock over unwritten metadata.
#include "fsmake/ext4.hpp"

#include <algorithm>
#include <ctime>
#include <cstring>

#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_internal.hpp"
#include "fsmake/label.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"

namespace mos::fsmake::ext4 {

void ChunkList::add(uint64_t offset, mos::SharedBytes data, std::string what) {
  chunks_.push_back(mos::PlannedWrite{offset, std::move(data), std::move(what)});
}

namespace {

// One write covering [begin, end) from the small pieces [from, to), zeros between them.
mos::PlannedWrite merge_pieces(std::vector<mos::PlannedWrite>& pieces, size_t from, size_t to, uint64_t begin,
                              uint64_t end) {
  if (to - from == 1 && pieces[from].offset == begin && pieces[from].data.size() == end - begin)
    return std::move(pieces[from]);
  std::vector<uint8_t> bytes(end - begin, 0);
  for (size_t k = from; k < to; ++k) {
    std::memcpy(bytes.data() + (pieces[k].offset - begin), pieces[k].data.data(), pieces[k].data.size());
    pieces[k].data = {};  // release as we go
  }
  std::string what = from == to ? "zero gap" : to - from == 1 ? pieces[from].what : pieces[from].what + " .. " + pieces[to - 1].what;
  return mos::PlannedWrite{begin, std::move(bytes), std::move(what)};
}

}  // namespace

void ChunkList::emit(mos::PlanStep& step, uint64_t max_gap) {
  std::sort(chunks_.begin(), chunks_.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  auto end_of = [&](size_t k) { return chunks_[k].offset + chunks_[k].data.size(); };
  for (size_t i = 0; i < chunks_.size();) {
    // [i, j) is one run of pieces with gaps of at most max_gap between them.
    size_t j = i + 1;
    while (j < chunks_.size() && chunks_[j].offset >= end_of(j - 1) && chunks_[j].offset - end_of(j - 1) <= max_gap) ++j;
    uint64_t cursor = chunks_[i].offset;  // bytes of the run before this are planned
    size_t small_from = i;
    for (size_t k = i; k < j; ++k) {
      if (chunks_[k].data.size() <= max_gap) continue;
      if (cursor < chunks_[k].offset) step.writes.push_back(merge_pieces(chunks_, small_from, k, cursor, chunks_[k].offset));
      cursor = end_of(k);
      small_from = k + 1;
      step.writes.push_back(std::move(chunks_[k]));
    }
    if (cursor < end_of(j - 1) || small_from < j)
      step.writes.push_back(merge_pieces(chunks_, small_from, j, cursor, end_of(j - 1)));
    i = j;
  }
  chunks_.clear();
}

namespace {

void validate_options(const Ext4Options& o) {
  fsmake::validate_label("ext4", o.label, kLabelBytes);
  if (o.uuid) {
    static const std::array<uint8_t, 16> nil{};
    if (*o.uuid == nil) throw_validation("ext4: the nil UUID (all zeros) cannot identify a filesystem");
  }
}

// Merges [offset, offset+length) ranges that touch into one zero request each.
void add_zero(mos::PlanStep& step, uint64_t offset, uint64_t length, const std::string& what) {
  if (!length) return;
  if (!step.zeroes.empty()) {
    auto& prev = step.zeroes.back();
    if (prev.offset + prev.length == offset) {
      prev.length += length;
      return;
    }
  }
  step.zeroes.push_back(mos::PlannedZero{offset, length, what});
}

constexpr uint64_t kMergeGap = 256 * 1024;  // rewriting this much of our own space beats a syscall

}  // namespace

mos::WritePlan plan_mkfs(const Ext4Options& options, uint64_t device_size_bytes, uint32_t logical_sector_size) {
  validate_options(options);
  Geometry geo = compute_geometry(device_size_bytes, logical_sector_size, options.block_size);
  Layout layout = compute_layout(geo);

  BuildContext ctx{layout};
  ctx.uuid = options.uuid ? *options.uuid : mos::random_uuid();
  ctx.hash_seed = mos::random_uuid();
  ctx.seed = csum_seed(ctx.uuid.data());
  ctx.now = static_cast<uint32_t>(std::time(nullptr));
  ctx.full_init = options.full_init;
  uint32_t bs = geo.block_size;

  mos::WritePlan plan;
  plan.name = "ext4";

  // Three steps, a flush after each. The promise is that no new superblock is ever durable
  // before everything it describes: the backups and descriptors start only after the metadata
  // step's flush, the primary superblock only after theirs. Within the metadata step nothing depends on order:
  // apply_plan finishes the zero ranges before it issues the writes (full_init's zeroed inode
  // tables and journal are then partly overwritten, correctly), and no write overlaps another.
  // The old primary superblock is cleared in the same step rather than behind a flush of its
  // own: a crash mid-step may leave it over partly replaced blocks, but that old filesystem is
  // being destroyed on request, its backup superblocks were never cleared by either order, and
  // with metadata_csum the kernel rejects blocks checksummed for our UUID, not its own.
  mos::PlanStep& meta = plan.step("metadata");
  meta.writes.push_back(mos::PlannedWrite{kSuperOffset, std::vector<uint8_t>(kSuperSize, 0), "old primary superblock"});
  if (options.full_init) {
    for (uint32_t grp = 0; grp < geo.group_count; ++grp)
      add_zero(meta, layout.tables[grp].inode_table * bs, uint64_t{geo.inode_blocks_per_group} * bs, "inode tables");
    for (const auto& e : layout.journal) add_zero(meta, e.physical * bs, uint64_t{e.length} * bs, "journal");
  }
  // Like mke2fs: clear the last 64 KiB-aligned stretch, where old MD RAID superblocks live.
  uint64_t rsv = std::max<uint64_t>(65536 / bs, 1);
  uint64_t tail = geo.blocks_count & ~(rsv - 1);
  if (tail > rsv) tail -= rsv;
  add_zero(meta, tail * bs, (geo.blocks_count - tail) * bs, "end of device (old RAID superblocks)");

  ChunkList metadata, supers, primary;
  std::vector<InodeSlot> inodes;
  Superblock sb{};
  build_directories(ctx, metadata, inodes);
  build_resize_inode(ctx, metadata, inodes);
  build_journal(ctx, metadata, inodes, sb);
  build_groups_and_super(ctx, options.label, metadata, supers, primary, inodes, sb);
  metadata.emit(meta, kMergeGap);
  // The primary superblock is the format's commit: a probe knows ext4 by it, so it is written by
  // itself after the descriptors' flush (merged with group 0's descriptors, a write torn after
  // the superblock left an ext4 that probes whole with no descriptors).
  supers.emit(plan.step("descriptors"), kMergeGap);
  primary.emit(plan.step("superblock"), kMergeGap);
  return plan;
}

}  // namespace mos::fsmake::ext4
