// Swap v1 header reader for tests and fuzzing (not product code).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fsmake/swap.hpp"

namespace mos::fsmake::swap {

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

}  // namespace mos::fsmake::swap
