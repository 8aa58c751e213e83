// Swap area v1 header as the kernel reads it (include/linux/swap.h, union swap_header.info).
#pragma once
#include <cstdint>

#include "base/bytes.hpp"

namespace mos::fsmake::swap {

#pragma pack(push, 1)
struct HeaderV1 {
  uint8_t boot_bits[1024];      // left to boot loaders / disk labels; we zero it
  le32 version;                 // 1
  le32 last_page;               // index of the last usable page
  le32 nr_badpages;
  uint8_t uuid[16];
  char volume_name[16];         // label, NUL-padded (not terminated when 16 bytes long)
  le32 padding[117];
  le32 badpages[1];             // nr_badpages entries start here
};
static_assert(sizeof(HeaderV1) == 1540);
#pragma pack(pop)

inline constexpr char kMagicV1[] = "SWAPSPACE2";  // last 10 bytes of the first page
inline constexpr size_t kMagicLen = 10;

}  // namespace mos::fsmake::swap
