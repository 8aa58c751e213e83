// Internal write-intent bitmap (bitmap_super_t + one bit per chunk), as mdadm writes it for a
// new array: every bit set, so the first assembly resyncs everything the bitmap covers.
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "mdraid/md_structs.hpp"
#include "mdraid/superblock.hpp"

namespace mos::mdraid {

BitmapInfo build_bitmap_info(const ArraySpec& spec, const BitmapGeometry& g) {
  BitmapInfo b;
  b.version = 4;  // BITMAP_MAJOR_HI: bitmap fields little-endian
  // mdadm copies its in-memory uuid words: v1.2 set_uuid bytes as stored; v0.90 the
  // host-endian (little-endian) words, i.e. each 4-byte group of the printed UUID reversed.
  b.uuid = spec.uuid;
  if (spec.metadata == Metadata::v0_90)
    for (int w = 0; w < 4; ++w)
      for (int i = 0; i < 4; ++i) b.uuid[4 * w + i] = spec.uuid[4 * w + 3 - i];
  b.events = spec.events;
  b.sync_size_sectors = g.sync_size_sectors;
  b.chunk_bytes = g.chunk_bytes;
  b.daemon_sleep = g.daemon_sleep;
  return b;
}

std::vector<uint8_t> bitmap_area(const BitmapGeometry& g, const BitmapInfo& info) {
  uint64_t needed = sizeof(disk::BitmapSuper) + (g.bits() + 7) / 8;
  if (g.space_bytes < needed || g.space_bytes > 128 * 1024 * 1024)
    throw Error(ErrorCode::internal, "md bitmap area of " + std::to_string(g.space_bytes) +
                                         " bytes cannot hold " + std::to_string(needed));
  std::vector<uint8_t> out(g.space_bytes, 0xff);
  disk::BitmapSuper s;
  std::memset(&s, 0, sizeof s);
  s.magic = disk::kBitmapMagic;
  s.version = info.version;
  std::memcpy(s.uuid, info.uuid.data(), 16);
  s.events = info.events;
  s.events_cleared = info.events_cleared;
  s.sync_size = info.sync_size_sectors;
  s.state = info.state;
  s.chunksize = info.chunk_bytes;
  s.daemon_sleep = info.daemon_sleep;
  s.write_behind = info.write_behind;
  s.sectors_reserved = info.sectors_reserved;
  s.nodes = info.nodes;
  std::memcpy(out.data(), &s, sizeof s);
  return out;
}

BitmapInfo parse_bitmap(std::span<const uint8_t> bytes) {
  if (bytes.size() < sizeof(disk::BitmapSuper))
    throw_validation("md bitmap superblock truncated: " + std::to_string(bytes.size()) +
                     " bytes, needs 256");
  disk::BitmapSuper s;
  std::memcpy(&s, bytes.data(), sizeof s);
  if (s.magic.get() != disk::kBitmapMagic) throw_validation("md bitmap: no \"bitm\" magic");
  uint32_t chunk = s.chunksize.get();
  if (chunk < 512 || (chunk & (chunk - 1)) != 0)
    throw_validation("md bitmap: chunk size " + std::to_string(chunk) +
                     " is not a power of two >= 512");
  BitmapInfo b;
  b.version = s.version.get();
  std::memcpy(b.uuid.data(), s.uuid, 16);
  b.events = s.events.get();
  b.events_cleared = s.events_cleared.get();
  b.sync_size_sectors = s.sync_size.get();
  b.state = s.state.get();
  b.chunk_bytes = chunk;
  b.daemon_sleep = s.daemon_sleep.get();
  b.write_behind = s.write_behind.get();
  b.sectors_reserved = s.sectors_reserved.get();
  b.nodes = s.nodes.get();
  return b;
}

}  // namespace mos::mdraid
