// Microsoft ReFS: "\0\0\0ReFS\0" at the start of its boot sector; the magic alone names it.
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr Magic kMagics[] = {{{"\0\0\0ReFS\0", 8}, 0}};

}  // namespace

extern constinit const Prober kRefs{"ReFS", "filesystem", 0, kMagics, magic_only};

}  // namespace mos::fsmake::probe
