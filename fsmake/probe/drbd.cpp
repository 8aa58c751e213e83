// DRBD internal metadata (8.x and 9): BE magic at byte 60 of the 4 KiB block that starts 4 KiB
// before the end of the device (counted in whole KiB, as libblkid's negative offsets are).
#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

bool probe_drbd(ProbeSource& src, uint64_t, Found& out) {
  if (src.size() < 0x10000) return false;
  uint64_t md = ((src.size() >> 10) - 4) << 10;
  auto b = src.get(md + 60, 4);
  if (b.empty()) return false;
  uint32_t magic = load_be32(b.data());
  if (magic == 0x8374026b || magic == 0x8374026c)
    out.version = "v08";
  else if (magic == 0x8374026d)
    out.version = "v09";
  else
    return false;
  return found_at(src, "drbd", md + 60, 4, out);
}

}  // namespace

extern constinit const Prober kDrbd{"drbd", "raid", 0, {}, probe_drbd};

}  // namespace mos::fsmake::probe
