// Bytes of a file's extents on disk, split into those shared with another file (a reflink clone,
// a snapshot) and those only it has: FIEMAP with FIEMAP_FLAG_SYNC, in bounded batches.
#pragma once
#include <cstdint>

#include "ioctl/fd.hpp"

namespace mos::engine::volumes {

struct ExtentBytes {
  uint64_t exclusive = 0;
  uint64_t shared = 0;
  uint64_t extents = 0;
};

ExtentBytes extent_bytes(const io::Fd& file);

}  // namespace mos::engine::volumes
