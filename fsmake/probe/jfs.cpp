// JFS: "JFS1" at 32 KiB with consistent block-size fields (libblkid jfs.c). UUID and LABEL from
// the superblock.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

bool probe_jfs(ProbeSource& src, uint64_t hit, Found& out) {
  auto b = src.get(hit, 0xb0);
  if (b.empty()) return false;
  uint32_t bsize = load_le32(b.data() + 16), pbsize = load_le32(b.data() + 24);
  uint16_t l2bsize = load_le16(b.data() + 20), l2bfactor = load_le16(b.data() + 22);
  uint16_t l2pbsize = load_le16(b.data() + 28);
  if (l2bsize > 31 || l2pbsize > 31) return false;
  if (bsize != (1u << l2bsize) || pbsize != (1u << l2pbsize)) return false;
  if (l2bsize - l2pbsize != l2bfactor) return false;
  out.uuid = uuid_text(b.subspan(0x88, 16));
  out.label = label_text(b.subspan(0x98, 16));
  return true;
}

constexpr Magic kMagics[] = {{"JFS1", 0x8000}};

}  // namespace

extern constinit const Prober kJfs{"jfs", "filesystem", 16 * kMiB, kMagics, probe_jfs};

}  // namespace mos::fsmake::probe
