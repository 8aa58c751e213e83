// Ceph BlueStore OSD block device: its label starts with "bluestore block device" (libblkid
// bluestore.c); the magic alone names it.
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr Magic kMagics[] = {{"bluestore block device", 0}};

}  // namespace

extern constinit const Prober kCephBluestore{"ceph_bluestore", "other", 0, kMagics, magic_only};

}  // namespace mos::fsmake::probe
