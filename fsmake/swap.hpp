// Native Linux swap area writer (mkswap equivalent); its test reader: fsmake/readers/.
//
// Layout (include/linux/swap.h, union swap_header): the first page holds 1024 bytes of
// "boot bits", the v1 header (version, last_page, nr_badpages, uuid, label), and the magic
// "SWAPSPACE2" in its last 10 bytes. Fields are CPU-endian; we write little-endian (the
// kernel of a big-endian machine would byte-swap them on swapon).
// Like mkswap we zero the boot bits; we also zero the rest of the first MiB so signatures of
// older filesystems (btrfs at 64 KiB, ISO 9660 at 32 KiB) cannot shadow the swap signature.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "base/write_plan.hpp"

namespace mos::fsmake::swap {

struct SwapOptions {
  std::string label;                                // at most 16 bytes, no control characters
  std::optional<std::array<uint8_t, 16>> uuid;      // random (v4) when absent
  uint32_t page_size = 0;                           // 0 = this machine's page size
};

inline constexpr uint64_t kMinPages = 10;           // mkswap's minimum (MIN_GOODPAGES)
inline constexpr uint64_t kMaxPages = 1ull << 32;   // last_page is a 32-bit field

inline constexpr size_t kLabelBytes = 16;          // the header's volume_name field

// The bytes of a fresh swap area using floor(size / page_size) pages. Validates first.
mos::WritePlan plan_mkswap(const SwapOptions& opts, uint64_t device_size_bytes);

}  // namespace mos::fsmake::swap
