// plan_mkfs: validate, compute mke2fs's geometry and placement, then emit three steps:
// "wipe" (zero ranges; old primary superblock cleared), "metadata" (everything but the
// superblocks and descriptors) and "superblocks" (backups, then the primary) so a crash
// never leaves a valid-looking superblock over unwritten metadata.
#include "fsmake/ext4.hpp"

#include <uuid/uuid.h>

#include <algorithm>
#include <ctime>
#include <cstring>

#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_internal.hpp"
#include "ioctl/error.hpp"

namespace mos::ext4 {

void ChunkList::add(uint64_t offset, std::vector<uint8_t> data, std::string what) {
  chunks_.push_back(io::PlannedWrite{offset, std::move(data), std::move(what)});
}

void ChunkList::emit(io::PlanStep& step, uint64_t max_gap) {
  std::sort(chunks_.begin(), chunks_.end(), [](auto& a, auto& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < chunks_.size();) {
    // [i, j) become one write; its buffer is allocated once at its final size.
    size_t j = i + 1;
    uint64_t end = chunks_[i].offset + chunks_[i].data.size();
    while (j < chunks_.size() && chunks_[j].offset >= end && chunks_[j].offset - end <= max_gap) {
      end = chunks_[j].offset + chunks_[j].data.size();
      ++j;
    }
    if (j == i + 1) {
      step.writes.push_back(std::move(chunks_[i]));
    } else {
      io::PlannedWrite merged{chunks_[i].offset, std::vector<uint8_t>(end - chunks_[i].offset, 0),
                              chunks_[i].what + " .. " + chunks_[j - 1].what};
      for (size_t k = i; k < j; ++k) {
        std::memcpy(merged.data.data() + (chunks_[k].offset - merged.offset), chunks_[k].data.data(), chunks_[k].data.size());
        std::vector<uint8_t>().swap(chunks_[k].data);  // release as we go
      }
      step.writes.push_back(std::move(merged));
    }
    i = j;
  }
  chunks_.clear();
}

namespace {

void validate_options(const Ext4Options& o) {
  if (o.label.size() > 16)
    throw_validation("ext4: label \"" + o.label + "\" is " + std::to_string(o.label.size()) +
                     " bytes; ext4 labels hold at most 16 bytes");
  for (unsigned char c : o.label)
    if (c < 0x20 || c == 0x7F)
      throw_validation("ext4: label \"" + o.label + "\" contains a control character; use printable text");
  if (o.uuid) {
    static const std::array<uint8_t, 16> nil{};
    if (*o.uuid == nil) throw_validation("ext4: the nil UUID (all zeros) cannot identify a filesystem");
  }
}

std::array<uint8_t, 16> random_uuid() {
  std::array<uint8_t, 16> u{};
  uuid_generate(u.data());
  return u;
}

// Merges [offset, offset+length) ranges that touch into one zero request each.
void add_zero(io::PlanStep& step, uint64_t offset, uint64_t length, const std::string& what) {
  if (!length) return;
  if (!step.zeroes.empty()) {
    auto& prev = step.zeroes.back();
    if (prev.offset + prev.length == offset) {
      prev.length += length;
      return;
    }
  }
  step.zeroes.push_back(io::PlannedZero{offset, length, what});
}

constexpr uint64_t kMergeGap = 256 * 1024;  // rewriting this much of our own space beats a syscall

}  // namespace

io::WritePlan plan_mkfs(const Ext4Options& options, uint64_t device_size_bytes, uint32_t logical_sector_size) {
  validate_options(options);
  Geometry geo = compute_geometry(device_size_bytes, logical_sector_size, options.block_size);
  Layout layout = compute_layout(geo);

  BuildContext ctx{layout};
  ctx.uuid = options.uuid ? *options.uuid : random_uuid();
  ctx.hash_seed = random_uuid();
  ctx.seed = csum_seed(ctx.uuid.data());
  ctx.now = static_cast<uint32_t>(std::time(nullptr));
  ctx.full_init = options.full_init;
  uint32_t bs = geo.block_size;

  io::WritePlan plan;
  plan.name = "ext4";

  io::PlanStep& wipe = plan.step("wipe");
  // An old primary superblock must not survive a crash half-way through.
  wipe.writes.push_back(io::PlannedWrite{kSuperOffset, std::vector<uint8_t>(kSuperSize, 0), "old primary superblock"});
  if (options.full_init) {
    for (uint32_t grp = 0; grp < geo.group_count; ++grp)
      add_zero(wipe, layout.tables[grp].inode_table * bs, uint64_t{geo.inode_blocks_per_group} * bs, "inode tables");
    for (const auto& e : layout.journal) add_zero(wipe, e.physical * bs, uint64_t{e.length} * bs, "journal");
  }
  // Like mke2fs: clear the last 64 KiB-aligned stretch, where old MD RAID superblocks live.
  uint64_t rsv = std::max<uint64_t>(65536 / bs, 1);
  uint64_t tail = geo.blocks_count & ~(rsv - 1);
  if (tail > rsv) tail -= rsv;
  add_zero(wipe, tail * bs, (geo.blocks_count - tail) * bs, "end of device (old RAID superblocks)");

  ChunkList metadata, supers;
  std::vector<InodeSlot> inodes;
  Superblock sb{};
  build_directories(ctx, metadata, inodes);
  build_resize_inode(ctx, metadata, inodes);
  build_journal(ctx, metadata, inodes, sb);
  build_groups_and_super(ctx, options.label, metadata, supers, inodes, sb);
  metadata.emit(plan.step("metadata"), kMergeGap);
  supers.emit(plan.step("superblocks"), kMergeGap);
  return plan;
}

}  // namespace mos::ext4
