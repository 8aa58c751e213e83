// Native Linux swap area writer (mkswap equivalent) and header reader.
//
// Layout (include/linux/swap.h, union swap_header): the first page holds 1024 bytes of
// "boot bits", the v1 header (version, last_page, nr_badpages, uuid, label), and the magic
// "SWAPSPACE2" in its last 10 bytes. Fields are CPU-endian; we write little-endian (the
// kernel of a big-endian machine would byte-swap them on swapon).
// Like mkswap we zero the boot bits; we also zero the rest of the first MiB so signatures of
// older filesystems (btrfs at 64 KiB, ISO 9660 at 32 KiB) cannot shadow the swap signature.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "ioctl/write_plan.hpp"

namespace mos::swap {

struct SwapOptions {
  std::string label;                                // at most 16 bytes, no control characters
  std::optional<std::array<uint8_t, 16>> uuid;      // random (v4) when absent
  uint32_t page_size = 0;                           // 0 = this machine's page size
};

inline constexpr uint64_t kMinPages = 10;           // mkswap's minimum (MIN_GOODPAGES)
inline constexpr uint64_t kMaxPages = 1ull << 32;   // last_page is a 32-bit field

// Throws mos::Error(validation) naming the problem.
void validate_label(const std::string& label);

// The bytes of a fresh swap area using floor(size / page_size) pages. Validates first.
io::WritePlan plan_mkswap(const SwapOptions& opts, uint64_t device_size_bytes);

struct HeaderInfo {
  uint32_t page_size = 0;       // where the magic was found
  uint32_t version = 0;
  uint32_t last_page = 0;
  uint32_t nr_badpages = 0;
  std::array<uint8_t, 16> uuid{};
  std::string label;
};

// Parses a swap v1 header from the start of a device (page must cover its first page; 64 KiB
// covers every page size). Throws mos::Error(validation) if it is not a valid v1 header.
HeaderInfo read_header(const uint8_t* page, size_t len);

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case, as blkid prints it.
std::string uuid_string(const std::array<uint8_t, 16>& uuid);

}  // namespace mos::swap
