// ext2/3/4, as `e2fsck -b` starts: the primary superblock written from a backup group's copy
// (the prober's copy search found it valid) with s_block_group_nr back to 0, the free block and
// inode counts summed from the primary group descriptors (the kernel keeps those current, the
// backup holds the counts of the format) and the metadata_csum checksum computed again;
// everything else is the backup's. Refused, naming `e2fsck -b N -B S`, where this is not enough:
// primary group descriptors that are damaged too (a backup's are as old as the format: their
// free counts, flags and directory counts need e2fsck's full pass), a journal holding
// transactions not yet replayed, an external journal, meta_bg.
#include <cstring>

#include "engine/repair/formats.hpp"
#include "fsmake/ext4_csum.hpp"
#include "fsmake/ext4_structs.hpp"
#include "fsmake/probe/copies.hpp"

namespace mos::engine::repair {
namespace {

using fsmake::ext4::Superblock;

constexpr uint32_t kIncompatCsumSeed = 0x2000;
constexpr uint32_t kRoCompatBigalloc = 0x0200;
constexpr uint16_t kStateValid = 0x0001;
constexpr unsigned kMaxExtentDepth = 5;

// Descriptor fields by byte offset: the low half in the first 32 bytes, the high half (64-byte
// descriptors) 0x20 further.
struct DescField {
  size_t lo, hi;
  bool wide;  // 32-bit low half (block numbers) or 16-bit (counts)
};
constexpr DescField kBlockBitmap{0x00, 0x20, true}, kInodeBitmap{0x04, 0x24, true}, kInodeTable{0x08, 0x28, true};
constexpr DescField kFreeBlocks{0x0C, 0x2C, false}, kFreeInodes{0x0E, 0x2E, false};

uint64_t desc_field(const uint8_t* d, size_t desc_size, DescField f) {
  uint64_t lo = f.wide ? load_le32(d + f.lo) : load_le16(d + f.lo);
  uint64_t hi = desc_size >= 64 ? (f.wide ? load_le32(d + f.hi) : load_le16(d + f.hi)) : 0;
  return lo | (hi << (f.wide ? 32 : 16));
}

struct Geometry {
  uint64_t block_size = 0, groups = 0, desc_size = 0, gdt_blocks = 0;
  uint64_t first_data_block = 0, blocks_per_group = 0;
};

Geometry geometry_of(const Superblock& sb) {
  Geometry g;
  g.block_size = uint64_t{1024} << sb.s_log_block_size.get();
  g.first_data_block = sb.s_first_data_block.get();
  g.blocks_per_group = sb.s_blocks_per_group.get();
  const bool is64 = sb.s_feature_incompat.get() & fsmake::ext4::kIncompat64bit;
  const uint64_t blocks = fsmake::ext4::get_lo_hi(sb.s_blocks_count_lo, sb.s_blocks_count_hi) & (is64 ? ~0ull : 0xFFFFFFFFull);
  g.groups = (blocks - g.first_data_block + g.blocks_per_group - 1) / g.blocks_per_group;
  g.desc_size = is64 ? sb.s_desc_size.get() : 32;
  g.gdt_blocks = (g.groups * g.desc_size + g.block_size - 1) / g.block_size;
  return g;
}

// Why descriptor `group` of the primary table cannot be trusted ("" when it can): its checksum
// (metadata_csum or gdt_csum), where it puts the group's bitmaps and inode table (fixed since
// the format: the backup's descriptor says the same), counts no larger than a group.
std::string descriptor_fault(const Superblock& sb, const Geometry& g, uint32_t group, const uint8_t* primary,
                             const uint8_t* backup) {
  const uint16_t stored = load_le16(primary + fsmake::ext4::kDescChecksumOffset);
  if (sb.s_feature_ro_compat.get() & fsmake::ext4::kRoCompatMetadataCsum) {
    const uint32_t seed = (sb.s_feature_incompat.get() & kIncompatCsumSeed) ? sb.s_checksum_seed.get()
                                                                             : fsmake::ext4::csum_seed(sb.s_uuid);
    if (stored != fsmake::ext4::group_desc_csum(seed, group, primary, g.desc_size)) return "checksum mismatch";
  } else if (sb.s_feature_ro_compat.get() & fsmake::ext4::kRoCompatGdtCsum) {
    if (stored != fsmake::ext4::group_desc_crc16(sb.s_uuid, group, primary, g.desc_size)) return "checksum mismatch";
  }
  for (DescField f : {kBlockBitmap, kInodeBitmap, kInodeTable})
    if (desc_field(primary, g.desc_size, f) != desc_field(backup, g.desc_size, f))
      return "its bitmaps or inode table are not where the backup descriptors put them";
  if (desc_field(primary, g.desc_size, kFreeBlocks) > sb.s_clusters_per_group.get() ||
      desc_field(primary, g.desc_size, kFreeInodes) > sb.s_inodes_per_group.get())
    return "more free blocks or inodes than a group holds";
  return {};
}

// The journal's first block (its superblock), from the backup of the journal inode's i_block
// in s_jnl_blocks: an extent tree (read down to its leaf) or, without extents, direct block 0.
// 0 when it cannot be found.
uint64_t journal_first_block(const Superblock& sb, const io::Fd& fd, uint64_t block_size) {
  std::vector<uint8_t> node(sizeof sb.s_jnl_blocks);
  std::memcpy(node.data(), sb.s_jnl_blocks, node.size());
  const auto* header = reinterpret_cast<const fsmake::ext4::ExtentHeader*>(node.data());
  if (header->eh_magic.get() != fsmake::ext4::kExtentMagic) return load_le32(node.data());
  for (unsigned level = 0; level <= kMaxExtentDepth; ++level) {
    header = reinterpret_cast<const fsmake::ext4::ExtentHeader*>(node.data());
    const size_t entries = header->eh_entries.get();
    if (header->eh_magic.get() != fsmake::ext4::kExtentMagic || entries == 0 ||
        sizeof(*header) + entries * sizeof(fsmake::ext4::Extent) > node.size())
      return 0;
    const uint8_t* first = node.data() + sizeof(*header);  // entries are sorted: the first covers block 0
    if (header->eh_depth.get() == 0) {
      const auto& e = *reinterpret_cast<const fsmake::ext4::Extent*>(first);
      return e.ee_block.get() == 0 ? (uint64_t{e.ee_start_hi.get()} << 32 | e.ee_start_lo.get()) : 0;
    }
    const auto& idx = *reinterpret_cast<const fsmake::ext4::ExtentIdx*>(first);
    node = fd.pread_vec(block_size, (uint64_t{idx.ei_leaf_hi.get()} << 32 | idx.ei_leaf_lo.get()) * block_size);
  }
  return 0;
}

}  // namespace

FormatRepair ext_repair(fsmake::ProbeSource& src, const io::Fd& fd, const std::string& device) {
  fsmake::probe::CopyFound copy;
  if (!fsmake::probe::find_copy_of(src, "ext4", copy))
    refuse(device, "no valid ext2/3/4 backup superblock found: nothing to repair from");
  Superblock sb;
  std::memcpy(&sb, src.get(copy.offset, sizeof sb).data(), sizeof sb);
  const Geometry g = geometry_of(sb);
  const uint32_t backup_group = sb.s_block_group_nr.get();
  const uint64_t backup_block = copy.offset / g.block_size;
  auto refuse_ext = [&](const std::string& why) {
    refuse(device, why + "; `e2fsck -b " + std::to_string(backup_block) + " -B " + std::to_string(g.block_size) + " " +
                       device + "` repairs it from the " + copy.where + " with a full check");
  };
  if (sb.s_feature_incompat.get() & fsmake::ext4::kIncompatMetaBg)
    refuse_ext("its group descriptors are spread over meta block groups (meta_bg), which this repair does not check");
  if (g.desc_size < 32 || g.desc_size > g.block_size || (g.desc_size & (g.desc_size - 1)))
    refuse_ext("the backup names a descriptor size of " + std::to_string(g.desc_size) + " bytes");

  // A primary that still carries the magic but another UUID is a newer filesystem over an old one.
  Superblock primary;
  std::memcpy(&primary, src.get(fsmake::ext4::kSuperOffset, sizeof primary).data(), sizeof primary);
  if (primary.s_magic.get() == fsmake::ext4::kSuperMagic && std::memcmp(primary.s_uuid, sb.s_uuid, 16) != 0)
    refuse(device, "the damaged primary superblock names UUID " + fsmake::probe::uuid_text(primary.s_uuid) +
                       " but the " + copy.where + " names " + fsmake::probe::uuid_text(sb.s_uuid) + ": not the same filesystem");

  const std::vector<uint8_t> gdt = fd.pread_vec(g.gdt_blocks * g.block_size, (g.first_data_block + 1) * g.block_size);
  const std::vector<uint8_t> backup_gdt = fd.pread_vec(g.gdt_blocks * g.block_size, (backup_block + 1) * g.block_size);
  uint64_t free_clusters = 0, free_inodes = 0;
  for (uint32_t group = 0; group < g.groups; ++group) {
    const uint8_t* d = gdt.data() + group * g.desc_size;
    if (std::string why = descriptor_fault(sb, g, group, d, backup_gdt.data() + group * g.desc_size); !why.empty())
      refuse_ext("its primary group descriptors are damaged too (group " + std::to_string(group) + ": " + why +
                 "); a backup's descriptors are as old as the format and need e2fsck's full check");
    free_clusters += desc_field(d, g.desc_size, kFreeBlocks);
    free_inodes += desc_field(d, g.desc_size, kFreeInodes);
  }
  const uint64_t free_blocks = (sb.s_feature_ro_compat.get() & kRoCompatBigalloc)
                                   ? free_clusters << (sb.s_log_cluster_size.get() - sb.s_log_block_size.get())
                                   : free_clusters;

  FormatRepair out;
  if (sb.s_feature_compat.get() & fsmake::ext4::kCompatHasJournal) {
    if (sb.s_journal_inum.get() == 0) refuse_ext("its journal is on another device");
    const uint64_t block = sb.s_jnl_backup_type == 1 ? journal_first_block(sb, fd, g.block_size) : 0;
    if (block == 0) refuse_ext("the backup does not say where its journal starts");
    std::vector<uint8_t> jb = fd.pread_vec(sizeof(fsmake::ext4::JournalSuperblock), block * g.block_size);
    const auto& jsb = *reinterpret_cast<const fsmake::ext4::JournalSuperblock*>(jb.data());
    if (jsb.h_magic.get() != fsmake::ext4::kJbd2Magic)
      refuse_ext("there is no journal superblock at block " + std::to_string(block) + ", where the backup puts it");
    if (jsb.s_start.get() != 0)
      refuse_ext("its journal holds transactions not yet replayed (it was not unmounted cleanly)");
  } else {
    // Without a journal nothing says it was unmounted cleanly: the next fsck checks it whole.
    sb.s_state = static_cast<uint16_t>(sb.s_state.get() & ~kStateValid);
    out.notes.push_back("no journal: marked not clean, so the next e2fsck checks it whole");
  }

  out.notes.push_back("free blocks " + std::to_string(free_blocks) + " and free inodes " + std::to_string(free_inodes) +
                      " counted from the primary group descriptors (the backup said " +
                      std::to_string(fsmake::ext4::get_lo_hi(sb.s_free_blocks_count_lo, sb.s_free_blocks_count_hi)) +
                      " and " + std::to_string(sb.s_free_inodes_count.get()) + ")");
  sb.s_block_group_nr = 0;
  fsmake::ext4::set_lo_hi(sb.s_free_blocks_count_lo, sb.s_free_blocks_count_hi, free_blocks);
  sb.s_free_inodes_count = static_cast<uint32_t>(free_inodes);
  if (sb.s_feature_ro_compat.get() & fsmake::ext4::kRoCompatMetadataCsum) fsmake::ext4::set_superblock_csum(sb);

  out.source = copy.where;
  out.plan.name = "repair";
  std::vector<uint8_t> bytes(sizeof sb);
  std::memcpy(bytes.data(), &sb, sizeof sb);
  out.plan.step("primary-superblock")
      .writes.push_back({fsmake::ext4::kSuperOffset, std::move(bytes),
                         "ext primary superblock (from the backup at block " + std::to_string(backup_block) +
                             ", group " + std::to_string(backup_group) + ")"});
  return out;
}

}  // namespace mos::engine::repair
