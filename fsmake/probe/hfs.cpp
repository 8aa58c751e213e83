// HFS and HFS+ (libblkid hfs.c). Both keep their header at 1 KiB: "H+"/"HX" is an HFS+ (or
// HFSX) volume header; "BD" is an HFS master directory block, which wraps an HFS+ volume when
// its embedded signature is "H+"/"HX". LABEL/UUID are not read (blkid derives HFS UUIDs by hash).
#include <cstring>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint64_t kHeaderOffset = 1024;
constexpr uint64_t kMdbAllocBlockSize = 20;  // drAlBlkSiz, BE32
constexpr uint64_t kMdbEmbedSig = 124;       // drEmbedSigWord
constexpr uint64_t kVhBlockSize = 40;        // HFS+ blockSize, BE32

bool embeds_hfsplus(std::span<const uint8_t> mdb) {
  return std::memcmp(mdb.data() + kMdbEmbedSig, "H+", 2) == 0 ||
         std::memcmp(mdb.data() + kMdbEmbedSig, "HX", 2) == 0;
}

bool probe_hfsplus(ProbeSource& src, uint64_t, Found&) {
  auto b = src.get(kHeaderOffset, 512);
  if (b.empty()) return false;
  if (b[0] == 'B' && b[1] == 'D') {  // HFS wrapper: the embedded volume decides
    if (!embeds_hfsplus(b)) return false;
    uint32_t alloc = load_be32(b.data() + kMdbAllocBlockSize);
    return alloc != 0 && alloc % 512 == 0;
  }
  uint32_t block_size = load_be32(b.data() + kVhBlockSize);
  return block_size >= 512 && (block_size & (block_size - 1)) == 0;
}

bool probe_hfs(ProbeSource& src, uint64_t, Found&) {
  auto b = src.get(kHeaderOffset, 512);
  if (b.empty() || embeds_hfsplus(b)) return false;
  uint32_t alloc = load_be32(b.data() + kMdbAllocBlockSize);
  return alloc != 0 && alloc % 512 == 0;
}

constexpr Magic kHfsPlusMagics[] = {
    {"BD", kHeaderOffset}, {"H+", kHeaderOffset}, {"HX", kHeaderOffset}};
constexpr Magic kHfsMagics[] = {{"BD", kHeaderOffset}};

}  // namespace

extern constinit const Prober kHfsPlus{"hfsplus", "filesystem", 0, kHfsPlusMagics, probe_hfsplus};
extern constinit const Prober kHfs{"hfs", "filesystem", 0, kHfsMagics, probe_hfs};

}  // namespace mos::fsmake::probe
