// The damage tests make on purpose: bytes overwritten at an offset of an image file or device
// (8 bytes of a magic, a zeroed first MiB, one flipped checksummed byte), synced so what reads it
// next sees it.
#pragma once
#include <fcntl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::test {

inline void overwrite(const std::string& path, uint64_t offset, std::string_view bytes) {
  io::Fd fd = io::Fd::open(path, O_RDWR);
  fd.pwrite_exact(bytes.data(), bytes.size(), offset);
  fd.fsync();
}

inline void zero_range(const std::string& path, uint64_t offset, uint64_t length) {
  overwrite(path, offset, std::string(length, '\0'));
}

inline void flip_byte(const std::string& path, uint64_t offset) {
  io::Fd fd = io::Fd::open(path, O_RDWR);
  uint8_t b = 0;
  fd.pread_exact(&b, 1, offset);
  b ^= 0xFF;
  fd.pwrite_exact(&b, 1, offset);
  fd.fsync();
}

}  // namespace mos::test
