// btrfs mirror superblocks (64 MiB, 256 GiB): a mirror counts when it has the magic, names its
// own offset and its checksum holds (crc32c and xxhash64 are checked; sha256 and blake2b are
// reported as not verifiable here). Of several, the highest generation is the newest.
#include <cstddef>
#include <cstring>

#include "fsmake/probe/btrfs.hpp"
#include "fsmake/probe/copies.hpp"

namespace mos::fsmake::probe {

bool btrfs_copy(ProbeSource& src, CopyFound& out) {
  bool found = false;
  uint64_t best_generation = 0;
  for (size_t mirror = 1; mirror < std::size(kBtrfsCopyOffsets); ++mirror) {
    const uint64_t off = kBtrfsCopyOffsets[mirror];
    if (off > src.size() || src.size() - off < kBtrfsSuperblockBytes) break;
    auto b = src.get(off, kBtrfsSuperblockBytes);
    if (b.empty()) continue;
    const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(b.data());
    if (std::memcmp(sb.magic, "_BHRfS_M", 8) != 0 || sb.bytenr.get() != off) continue;
    const BtrfsChecksum csum = btrfs_checksum(b);
    if (csum != BtrfsChecksum::ok && csum != BtrfsChecksum::not_verifiable) continue;
    if (found && sb.generation.get() <= best_generation) continue;
    found = true;
    best_generation = sb.generation.get();
    out = CopyFound{};
    out.type = "btrfs";
    out.usage = "filesystem";
    out.offset = off;
    btrfs_fill(sb, out.found);
    out.where = "copy at " + std::to_string(off) + " (btrfs mirror " + std::to_string(mirror) + ", generation " +
                std::to_string(best_generation) + ")";
    out.verified = csum == BtrfsChecksum::ok;
  }
  return found;
}

void btrfs_copy_signatures(ProbeSource& src, std::vector<Signature>& out) {
  for (size_t mirror = 1; mirror < std::size(kBtrfsCopyOffsets); ++mirror) {
    const uint64_t magic = kBtrfsCopyOffsets[mirror] + offsetof(BtrfsSuperblockHead, magic);
    if (magic > src.size() || src.size() - magic < 8) break;
    auto b = src.get(magic, 8);
    if (!b.empty() && std::memcmp(b.data(), "_BHRfS_M", 8) == 0) out.push_back(make_signature("btrfs", magic, b));
  }
}

void btrfs_copy_places(uint64_t size, std::vector<Place>& out) {
  for (size_t mirror = 1; mirror < std::size(kBtrfsCopyOffsets); ++mirror) {
    const uint64_t off = kBtrfsCopyOffsets[mirror];
    if (off > size || size - off < kBtrfsSuperblockBytes) break;
    out.push_back({off, static_cast<uint32_t>(kBtrfsSuperblockBytes), "btrfs mirror " + std::to_string(mirror)});
  }
}

}  // namespace mos::fsmake::probe
