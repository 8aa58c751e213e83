// VMware VMFS volume member: the LVM-style volume header's LE magic 0xC001D00D at 1 MiB; the
// magic alone names it. The VMFS filesystem inside (at 2 MiB) is not probed.
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr Magic kMagics[] = {{{"\x0d\xd0\x01\xc0", 4}, kMiB}};

}  // namespace

extern constinit const Prober kVmfs{"VMFS_volume_member", "raid", 0, kMagics, magic_only};

}  // namespace mos::fsmake::probe
