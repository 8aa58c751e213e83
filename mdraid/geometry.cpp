// Where a new RAID1 array's metadata and data go on each member, with mdadm 4.2's defaults
// (super0.c/super1.c validate_geometry, Create.c, add_internal_bitmap, write_init_super1):
//
// v1.2 data_offset (decided on the first member, used on all, like mdadm):
//   headroom = 128 MiB, halved while headroom * 1024 > member size (aims at ~0.1% for reshape);
//   data_offset = round_up(12 KiB + bitmap reserve + headroom, 1 MiB);
//   bitmap reserve (choose_bm_space) = 4 KiB, 64 KiB above 8 GiB, 128 KiB from 200 GiB.
// Component size ("size", Used Dev Size) = min over members of the room for data, in KiB,
// rounded down to 64 KiB ("if this is ever reshaped to RAID5 we need a chunk size").
//   v1.2 room = member - data_offset; v0.90 room = superblock offset (last 64K-aligned 64 KiB).
// Bitmap: on when the component exceeds 100 GiB unless told otherwise; chunk = the smallest
//   power-of-two multiple of 4 KiB whose bits fit the room, but at least 64 MiB; v1.2 room is
//   the bitmap reserve (at most 128 KiB) 4 KiB after the superblock, v0.90 room is the 60 KiB
//   after the superblock.
// v1.2 bad-block log: 8 sectors right after the bitmap (or its reserve).
#include <algorithm>
#include <string>

#include "base/error.hpp"
#include "mdraid/md_structs.hpp"
#include "mdraid/super_internal.hpp"
#include "mdraid/superblock.hpp"

namespace mos::mdraid {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kGiB = kKiB * kKiB * kKiB;
constexpr uint64_t kAutoBitmapAboveKiB = 100ull * 1024 * 1024;  // Create.c: size > 100 GiB
constexpr uint32_t kMinBitmapChunk = 64u * 1024 * 1024;
constexpr uint64_t kBitmapSuperBytes = 256;
constexpr uint64_t kBitmapRoom090 = 60 * kKiB;
constexpr uint64_t kMax090ComponentKiB = 4ull * 1024 * 1024 * 1024;  // 4 TiB: 32-bit KiB field

// choose_bm_space: sectors kept for a bitmap between a v1.x superblock and the data.
uint64_t bitmap_reserve_sectors(uint64_t sectors) {
  if (sectors < 64 * 2) return 0;
  if (sectors - 64 * 2 >= 200 * kGiB / kSector) return 128 * 2;
  if (sectors - 4 * 2 > 8 * kGiB / kSector) return 64 * 2;
  return 4 * 2;
}

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

uint64_t v12_data_offset_sectors(uint64_t first_member_sectors) {
  uint64_t headroom = 128 * 1024 * 2;
  while ((headroom << 10) > first_member_sectors) headroom >>= 1;
  return round_up(12 * 2 + bitmap_reserve_sectors(first_member_sectors) + headroom, 2048);
}

// Smallest chunk (>= 4 KiB, doubling) whose bitmap fits room_bytes, then at least 64 MiB.
uint32_t bitmap_chunk_bytes(uint64_t component_sectors, uint64_t room_bytes) {
  uint64_t max_bits = (room_bytes - kBitmapSuperBytes) * 8;
  uint64_t chunk = 4096;
  uint64_t bits = component_sectors * kSector / chunk + 1;
  while (bits > max_bits) {
    chunk *= 2;
    bits = (bits + 1) / 2;
  }
  return static_cast<uint32_t>(std::max<uint64_t>(chunk, kMinBitmapChunk));
}

std::string member_name(size_t i) { return "md member " + std::to_string(i); }

}  // namespace

uint64_t detail::bitmap_space_bytes(Metadata metadata, uint64_t bits) {
  if (metadata == Metadata::v0_90) return kBitmapRoom090;
  return round_up((bits + 7) / 8 + kBitmapSuperBytes, 4096);
}

uint64_t BitmapGeometry::bits() const {
  if (chunk_bytes == 0) return 0;
  return (sync_size_sectors * kSector + chunk_bytes - 1) / chunk_bytes;
}

uint64_t superblock_offset(Metadata metadata, uint64_t device_size_bytes) {
  if (metadata == Metadata::v0_90) {
    if (device_size_bytes < 2 * disk::kReserved090)
      throw_validation("device of " + std::to_string(device_size_bytes) +
                       " bytes is too small for md metadata 0.90 (needs at least 128 KiB)");
    return (device_size_bytes & ~(disk::kReserved090 - 1)) - disk::kReserved090;
  }
  if (device_size_bytes < 24 * kSector)
    throw_validation("device of " + std::to_string(device_size_bytes) +
                     " bytes is too small for md metadata 1.2 (needs at least 12 KiB)");
  return disk::kSuperOffset12;
}

Geometry plan_geometry(Metadata metadata, std::span<const uint64_t> sizes,
                       std::optional<bool> bitmap) {
  if (sizes.empty()) throw_validation("an md array needs at least one member");
  Geometry g;
  g.metadata = metadata;
  uint64_t min_room_sectors = ~uint64_t{0};
  if (metadata == Metadata::v1_2) {
    uint64_t first = sizes[0] / kSector;
    g.data_offset_sectors = v12_data_offset_sectors(first);
    for (size_t i = 0; i < sizes.size(); ++i) {
      uint64_t sectors = sizes[i] / kSector;
      if (sectors < g.data_offset_sectors + 128)
        throw_validation(member_name(i) + " (" + std::to_string(sizes[i]) +
                         " bytes) is too small for md metadata 1.2: data starts at " +
                         std::to_string(g.data_offset_sectors * kSector) + " bytes");
      g.superblock_offsets.push_back(disk::kSuperOffset12);
      g.data_size_sectors.push_back(sectors - g.data_offset_sectors);
      min_room_sectors = std::min(min_room_sectors, sectors - g.data_offset_sectors);
    }
  } else {
    for (size_t i = 0; i < sizes.size(); ++i) {
      uint64_t off = superblock_offset(metadata, sizes[i]);
      g.superblock_offsets.push_back(off);
      g.data_size_sectors.push_back(off / kSector);
      min_room_sectors = std::min(min_room_sectors, off / kSector);
    }
  }
  uint64_t component_kib = (min_room_sectors / 2) & ~uint64_t{63};
  if (component_kib == 0)
    throw_validation("md members are too small: less than 64 KiB left for data on the smallest");
  if (metadata == Metadata::v0_90 && component_kib >= kMax090ComponentKiB)
    throw_validation("md metadata 0.90 supports at most 4 TiB per member; use metadata 1.2");
  g.component_sectors = component_kib * 2;
  g.array_size_bytes = g.component_sectors * kSector;

  bool want_bitmap = bitmap.value_or(component_kib > kAutoBitmapAboveKiB);
  if (want_bitmap) {
    BitmapGeometry b;
    b.sync_size_sectors = g.component_sectors;
    if (metadata == Metadata::v1_2) {
      uint64_t room = std::min<uint64_t>(bitmap_reserve_sectors(g.component_sectors), 128 * 2);
      if (room <= 1) throw_validation("md members are too small for an internal bitmap");
      b.chunk_bytes = bitmap_chunk_bytes(g.component_sectors, room * kSector);
      b.offset_sectors = 8;  // 4 KiB after the superblock
      b.space_bytes = detail::bitmap_space_bytes(metadata, b.bits());
      if (8 + b.offset_sectors + b.space_bytes / kSector + 8 > g.data_offset_sectors)
        throw_validation("md internal bitmap and bad-block log do not fit before the data offset");
    } else {
      b.chunk_bytes = bitmap_chunk_bytes(g.component_sectors, kBitmapRoom090);
      b.offset_sectors = 8;  // right after the 4 KiB superblock, inside the reserved 64 KiB
      b.space_bytes = detail::bitmap_space_bytes(metadata, b.bits());
    }
    g.bitmap = b;
  }

  if (metadata == Metadata::v1_2) {
    // write_init_super1: the log follows the bitmap or the space kept for one.
    uint64_t bm_space =
        g.bitmap ? g.bitmap->space_bytes / kSector : bitmap_reserve_sectors(g.component_sectors);
    if (g.data_offset_sectors >= 8 + 8 + bm_space + 8) {
      g.bblog_offset_sectors = 8 + bm_space;
      g.bblog_size_sectors = 8;
    } else if (g.data_offset_sectors >= 8 + 16) {
      g.bblog_offset_sectors = g.data_offset_sectors - 8 - 8;
      g.bblog_size_sectors = 8;
    }
  }
  return g;
}

Geometry plan_geometry(const ArraySpec& spec, std::span<const MemberSpec> members) {
  std::vector<uint64_t> sizes;
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    if (m.logical_sector_size != 512 && m.logical_sector_size != 4096)
      throw_validation(member_name(i) + " has a logical sector size of " +
                       std::to_string(m.logical_sector_size) + " bytes (512 or 4096 supported)");
    if (m.size_bytes % m.logical_sector_size != 0)
      throw_validation(member_name(i) + " size " + std::to_string(m.size_bytes) +
                       " is not a multiple of its sector size");
    sizes.push_back(m.size_bytes);
  }
  return plan_geometry(spec.metadata, sizes, spec.bitmap);
}

}  // namespace mos::mdraid
