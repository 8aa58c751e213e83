// Bytes at an offset: a device or file (io::Fd) or an image in memory. The pure format readers
// (gpt/, mdraid/) read through this, so they need no kernel interface of their own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace mos {

class ReadAt {
 public:
  // Reads up to len bytes at off; returns how many (short only at the end of the source).
  virtual size_t pread_some(void* buf, size_t len, uint64_t off) const = 0;
  // What errors name (a device path, an image's name).
  virtual const std::string& path() const = 0;

 protected:
  ~ReadAt() = default;
};

}  // namespace mos
