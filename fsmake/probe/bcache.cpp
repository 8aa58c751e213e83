// bcache (the block cache, not bcachefs): its magic at 24 of the superblock at 4 KiB, the
// superblock's own offset field 8 (sectors), and a cache/backing-device version up to 6; later
// versions under the same magic are bcachefs (libblkid bcache.c). UUID and LABEL as blkid.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {

bool probe_bcache(ProbeSource& src, uint64_t hit, Found& out) {
  uint64_t sb = hit - 24;
  auto b = src.get(sb, 104);
  if (b.empty() || load_le64(b.data() + 8) != sb / 512) return false;
  uint64_t version = load_le64(b.data() + 16);
  if (version > 6) return false;
  out.version = std::to_string(version);
  out.uuid = uuid_text(b.subspan(40, 16));
  out.label = label_text(b.subspan(72, 32));
  return true;
}

}  // namespace mos::fsmake::probe
