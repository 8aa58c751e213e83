// NILFS2: LE magic 0x3434 at byte 6 of the superblock at 1 KiB, or of the backup in the last
// 4 KiB-aligned 4 KiB (libblkid nilfs.c, which also checks a CRC we do not). UUID and LABEL from
// the superblock.
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint16_t kMagic = 0x3434;

bool valid(std::span<const uint8_t> sb) {
  if (sb.size() < 0x100 || load_le16(sb.data() + 6) != kMagic) return false;
  uint16_t bytes = load_le16(sb.data() + 8);
  return bytes >= 0x98 + 16 && bytes <= 1024;
}

bool probe_nilfs2(ProbeSource& src, uint64_t, Found& out) {
  if (src.size() < 1024 * 1024) return false;
  uint64_t primary = 1024, backup = ((src.size() >> 12) - 1) << 12;
  auto sb = src.get(primary, 0x100);
  uint64_t at = primary;
  if (!valid(sb)) {
    sb = src.get(backup, 0x100);
    at = backup;
    if (!valid(sb)) return false;
  }
  out.uuid = uuid_text(sb.subspan(0x98, 16));
  out.label = label_text(sb.subspan(0xa8, 80));
  return found_at(src, "nilfs2", at + 6, 2, out);
}

}  // namespace

extern constinit const Prober kNilfs2{"nilfs2", "filesystem", kMiB, {}, probe_nilfs2};

}  // namespace mos::fsmake::probe
