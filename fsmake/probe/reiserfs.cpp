// ReiserFS 3.x: "ReIsErFs" (3.5), "ReIsEr2Fs" (3.6) or "ReIsEr3Fs" (journal relocated) at
// 0x34 of the superblock at 64 KiB (8 KiB for old 3.5); the block size is at least 512 and the
// superblock lies outside the journal (libblkid reiserfs.c). UUID and LABEL for 3.6 and later.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

bool probe_reiserfs(ProbeSource& src, uint64_t hit, Found& out) {
  uint64_t sb_off = hit >= 0x10000 ? 0x10000 : 0x2000;
  auto b = src.get(sb_off, 0x64 + 16);
  if (b.empty()) return false;
  uint32_t block_size = load_le16(b.data() + 44);
  if ((block_size >> 9) == 0) return false;
  uint64_t sb_block = (sb_off / 1024) / (block_size >> 9);
  if (sb_block > load_le32(b.data() + 12) / 2) return false;
  char variant = static_cast<char>(b[0x34 + 6]);
  if (variant == '2' || variant == '3') {
    out.uuid = uuid_text(b.subspan(0x54, 16));
    out.label = label_text(b.subspan(0x64, 16));
  }
  out.version = variant == '3' ? "JR" : variant == '2' ? "3.6" : "3.5";
  return true;
}

constexpr Magic kMagics[] = {
    {"ReIsErFs", 0x2000 + 0x34}, {"ReIsEr2Fs", 0x10000 + 0x34}, {"ReIsEr3Fs", 0x10000 + 0x34},
    {"ReIsErFs", 0x10000 + 0x34}, {"ReIsErFs", 0x2000 + 20}};

}  // namespace

extern constinit const Prober kReiserfs{"reiserfs", "filesystem", 128 * 1024, kMagics,
                                        probe_reiserfs};

}  // namespace mos::fsmake::probe
