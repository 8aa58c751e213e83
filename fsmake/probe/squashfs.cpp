// squashfs 4.x ("hsqs", little endian): TYPE and VERSION only; 3.x and older are another type.
#include <cstdio>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct SquashfsSuperblockHead {
  le32 magic;
  le32 inodes;
  le32 words[5];
  le16 major;  // 0x1c
  le16 minor;  // 0x1e
};
static_assert(sizeof(SquashfsSuperblockHead) == 32);

bool probe_squashfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(0, sizeof(SquashfsSuperblockHead));
  if (b.empty()) return false;
  const auto& sb = *reinterpret_cast<const SquashfsSuperblockHead*>(b.data());
  if (sb.major.get() < 4) return false;
  char v[16];
  std::snprintf(v, sizeof v, "%u.%u", unsigned{sb.major.get()}, unsigned{sb.minor.get()});
  out.version = v;
  return true;
}

constexpr Magic kMagics[] = {{"hsqs", 0}};

}  // namespace

extern constinit const Prober kSquashfs{"squashfs", "filesystem", 0, kMagics, probe_squashfs};

}  // namespace mos::fsmake::probe
