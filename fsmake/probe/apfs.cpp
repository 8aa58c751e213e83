// APFS container superblock (libblkid apfs.c): "NXSB" at 32 of block 0, object type 1 (container
// superblock), subtype 0, 4096-byte blocks and a valid Fletcher-64 checksum over the block.
// UUID is the container UUID.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kBlockSize = 4096;

// APFS object checksum: Fletcher-64 over 32-bit words modulo 2^32-1, stored so that the sums
// over the whole block (checksum included) come out zero.
uint64_t fletcher64(std::span<const uint8_t> words) {
  constexpr uint64_t kMod = 0xFFFFFFFF;
  uint64_t lo = 0, hi = 0;
  for (size_t i = 0; i + 4 <= words.size(); i += 4) {
    lo = (lo + load_le32(words.data() + i)) % kMod;
    hi = (hi + lo) % kMod;
  }
  uint64_t c1 = kMod - ((lo + hi) % kMod);
  uint64_t c2 = kMod - ((lo + c1) % kMod);
  return (c2 << 32) | c1;
}

bool probe_apfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, kBlockSize);
  if (b.empty()) return false;
  if (fletcher64(b.subspan(8)) != load_le64(b.data())) return false;
  if (load_le16(b.data() + 24) != 1 || load_le16(b.data() + 28) != 0 || load_le16(b.data() + 30) != 0)
    return false;
  if (load_le32(b.data() + 36) != kBlockSize) return false;
  out.uuid = uuid_text(b.subspan(72, 16));
  return true;
}

constexpr Magic kMagics[] = {{"NXSB", 32}};

}  // namespace

extern constinit const Prober kApfs{"apfs", "filesystem", 0, kMagics, probe_apfs};

}  // namespace mos::fsmake::probe
