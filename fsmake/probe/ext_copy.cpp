// ext2/3/4 backup superblocks (Documentation/filesystems/ext4/super.rst): a copy sits at the
// start of group g's first block, (s_first_data_block + g * s_blocks_per_group) * block size,
// in groups 1 and the powers of 3, 5 and 7 with sparse_super, in every group without it, and in
// the two groups s_backup_bgs names with sparse_super2. The geometry comes from the primary
// when its fields still hold, else it is guessed: 1, 2, 4 and 64 KiB blocks with mke2fs's
// default 8 x block size blocks per group, then the smaller powers of two `mke2fs -g` takes (256
// and up): for those only group 1 is tried (one small read each), and only a copy there lets the
// others be looked at.
// A copy counts when it has the magic, names its own group, has the geometry it was found by
// and its metadata_csum checksum holds.
#include <algorithm>
#include <cstddef>
#include <optional>

#include "fsmake/probe/copies.hpp"
#include "fsmake/probe/ext.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kGuessedLogBlockSizes[] = {0, 1, 2, 6};  // 1, 2, 4, 64 KiB
// mke2fs -g: a multiple of 8 from 256 up to 8 x block size (the default); powers of two tried.
constexpr uint32_t kSmallestBlocksPerGroup = 256;
// Places tried per geometry: a copy search is a handful of small reads, not a scan.
constexpr size_t kMaxPlacesPerGeometry = 8;
// A wipe erases more of them: mke2fs's sparse groups up to 2^32 blocks are fewer than this.
constexpr size_t kMaxSignaturesPerGeometry = 64;

struct Geometry {
  uint32_t log_block_size = 0;
  uint32_t blocks_per_group = 0;
  uint64_t groups = 0;
  bool sparse_super = true;
  std::vector<uint64_t> backup_groups;  // sparse_super2's two, when known
  bool from_primary = false;
  bool other_group_size = false;  // guessed with a non-default -g: group 1 must hold a copy first

  uint64_t block_size() const { return uint64_t{1024} << log_block_size; }
  uint64_t first_data_block() const { return log_block_size == 0 ? 1 : 0; }
  uint64_t offset_of(uint64_t group) const { return (first_data_block() + group * blocks_per_group) * block_size(); }
};

bool power_of(uint64_t n, uint64_t base) {
  while (n > 1 && n % base == 0) n /= base;
  return n == 1;
}

// Groups holding a backup, ascending, at most `limit` of them.
std::vector<uint64_t> backup_groups(const Geometry& g, size_t limit) {
  std::vector<uint64_t> out;
  if (!g.backup_groups.empty()) {
    for (uint64_t b : g.backup_groups)
      if (b != 0 && b < g.groups) out.push_back(b);
  } else {
    for (uint64_t n = 1; n < g.groups && out.size() < limit; ++n)
      if (!g.sparse_super || n == 1 || power_of(n, 3) || power_of(n, 5) || power_of(n, 7)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.size() > limit) out.resize(limit);
  return out;
}

Geometry guessed(uint32_t log_block_size, uint64_t device_size, uint32_t blocks_per_group = 0) {
  Geometry g;
  g.log_block_size = log_block_size;
  g.blocks_per_group = blocks_per_group ? blocks_per_group : static_cast<uint32_t>(8 * g.block_size());
  g.other_group_size = blocks_per_group != 0;
  const uint64_t blocks = device_size / g.block_size();
  g.groups = blocks > g.first_data_block() ? (blocks - g.first_data_block() + g.blocks_per_group - 1) / g.blocks_per_group : 0;
  return g;
}

// The primary's own geometry when its fields are plausible (its magic or checksum may be gone).
std::optional<Geometry> primary_geometry(ProbeSource& src) {
  auto b = src.get(kExtSuperblockOffset, sizeof(ExtSuperblock));
  if (b.empty()) return std::nullopt;
  const auto& sb = *reinterpret_cast<const ExtSuperblock*>(b.data());
  Geometry g;
  g.log_block_size = sb.log_block_size;
  g.blocks_per_group = sb.blocks_per_group;
  if (g.log_block_size > kExtMaxLogBlockSize || g.blocks_per_group < 8 || g.blocks_per_group % 8) return std::nullopt;
  if (sb.first_data_block.get() != g.first_data_block()) return std::nullopt;
  uint64_t blocks = sb.blocks_count_lo;
  if (sb.feature_incompat & kExtIncompat64bit) blocks |= uint64_t{sb.blocks_count_hi} << 32;
  if (blocks <= g.first_data_block() || blocks > src.size() / g.block_size()) return std::nullopt;
  g.groups = (blocks - g.first_data_block() + g.blocks_per_group - 1) / g.blocks_per_group;
  g.sparse_super = sb.feature_ro_compat & kExtRoCompatSparseSuper;
  if (sb.feature_compat & kExtCompatSparseSuper2) g.backup_groups = {sb.backup_bgs[0], sb.backup_bgs[1]};
  g.from_primary = true;
  return g;
}

// A valid copy at `group` of geometry g, filled into out.
bool copy_at(ProbeSource& src, const Geometry& g, uint64_t group, bool& place_zero, CopyFound& out) {
  const uint64_t off = g.offset_of(group);
  place_zero = false;
  if (off > src.size() || src.size() - off < sizeof(ExtSuperblock)) return false;
  auto b = src.get(off, sizeof(ExtSuperblock));
  if (b.empty()) return false;
  place_zero = all_zero(b);
  const auto& sb = *reinterpret_cast<const ExtSuperblock*>(b.data());
  if (sb.magic.get() != kExtMagic || sb.block_group_nr.get() != static_cast<uint16_t>(group)) return false;
  if (sb.log_block_size.get() != g.log_block_size || sb.blocks_per_group.get() != g.blocks_per_group) return false;
  if (!ext_checksum_ok(sb)) return false;
  const std::string_view type = ext_type(sb);
  if (type.empty()) return false;
  out = CopyFound{};
  out.type = type;
  out.usage = "filesystem";
  out.offset = off;
  ext_fill(sb, type, out.found);
  out.where = "copy at " + std::to_string(off) + " (" + std::string(type) + " backup superblock, group " +
              std::to_string(group) + ", " + std::to_string(g.block_size()) + "-byte blocks)";
  return true;
}

// The primary's geometry when it holds, then the guessed ones it is not: mke2fs's defaults
// first, then the other group sizes.
std::vector<Geometry> geometries_of(ProbeSource& src) {
  std::vector<Geometry> geometries;
  if (auto g = primary_geometry(src)) geometries.push_back(*g);
  auto add = [&](const Geometry& g) {
    bool known = std::any_of(geometries.begin(), geometries.end(), [&](const Geometry& p) {
      return p.log_block_size == g.log_block_size && p.blocks_per_group == g.blocks_per_group;
    });
    if (!known) geometries.push_back(g);
  };
  for (uint32_t log : kGuessedLogBlockSizes) add(guessed(log, src.size()));
  for (uint32_t log : kGuessedLogBlockSizes)
    for (uint64_t bpg = kSmallestBlocksPerGroup; bpg < 8 * (uint64_t{1024} << log); bpg *= 2)
      add(guessed(log, src.size(), static_cast<uint32_t>(bpg)));
  return geometries;
}

}  // namespace

bool ext_copy(ProbeSource& src, CopyFound& out) {
  for (const Geometry& g : geometries_of(src)) {
    for (uint64_t group : backup_groups(g, kMaxPlacesPerGeometry)) {
      bool place_zero = false;
      if (copy_at(src, g, group, place_zero, out)) return true;
      // A guessed geometry whose first backup place is blank holds no filesystem of that shape;
      // one of another group size holds none unless group 1 has its copy.
      if ((place_zero && !g.from_primary) || g.other_group_size) break;
    }
  }
  return false;
}

void ext_copy_signatures(ProbeSource& src, std::vector<Signature>& out) {
  for (const Geometry& g : geometries_of(src)) {
    for (uint64_t group : backup_groups(g, kMaxSignaturesPerGeometry)) {
      const uint64_t off = g.offset_of(group);
      if (off > src.size() || src.size() - off < sizeof(ExtSuperblock)) break;
      auto b = src.get(off, sizeof(ExtSuperblock));
      if (b.empty()) continue;
      const auto& sb = *reinterpret_cast<const ExtSuperblock*>(b.data());
      if (sb.magic.get() == kExtMagic && sb.block_group_nr.get() == static_cast<uint16_t>(group) &&
          (!g.other_group_size || sb.blocks_per_group.get() == g.blocks_per_group)) {
        const uint64_t magic = off + offsetof(ExtSuperblock, magic);
        out.push_back(make_signature("ext4", magic, b.subspan(offsetof(ExtSuperblock, magic), 2)));
      } else if ((all_zero(b) && !g.from_primary) || g.other_group_size) {
        break;  // no filesystem of this guessed shape
      }
    }
  }
}

void ext_copy_places(uint64_t size, std::vector<Place>& out) {
  for (uint32_t log : kGuessedLogBlockSizes) {
    Geometry g = guessed(log, size);
    std::vector<uint64_t> groups = backup_groups(g, SIZE_MAX);
    // sparse_super2 as mke2fs makes it: group 1 and the last group.
    if (g.groups > 2) groups.push_back(g.groups - 1);
    for (uint64_t group : groups) {
      const uint64_t off = g.offset_of(group);
      if (off > size || size - off < sizeof(ExtSuperblock)) continue;
      out.push_back({off, static_cast<uint32_t>(sizeof(ExtSuperblock)),
                     "ext4 backup superblock place (group " + std::to_string(group) + ", " +
                         std::to_string(g.block_size()) + "-byte blocks)"});
    }
  }
}

}  // namespace mos::fsmake::probe
