// F2FS: LE magic 0xF2F52010 at 1 KiB (libblkid f2fs.c). UUID from the superblock; the checksum
// (only with the sb_checksum feature) and the UTF-16 label are not checked/read.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

bool probe_f2fs(ProbeSource& src, uint64_t hit, Found& out) {
  auto b = src.get(hit, 0x90);
  if (b.empty()) return false;
  uint16_t major = load_le16(b.data() + 4), minor = load_le16(b.data() + 6);
  if (major == 1 && minor == 0) return true;  // 1.0: layout unknown beyond the magic (as blkid)
  if (load_le32(b.data() + 16) > 16) return false;  // log_blocksize
  out.uuid = uuid_text(b.subspan(0x6c, 16));
  out.version = std::to_string(major) + "." + std::to_string(minor);
  return true;
}

constexpr Magic kMagics[] = {{{"\x10\x20\xF5\xF2", 4}, 1024}};

}  // namespace

extern constinit const Prober kF2fs{"f2fs", "filesystem", 0, kMagics, probe_f2fs};

}  // namespace mos::fsmake::probe
