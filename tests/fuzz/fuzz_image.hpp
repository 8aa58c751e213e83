// Device images for fuzz targets from small inputs (the "sparse image" input format), so a seed
// of a few KiB can describe a 300 MiB filesystem: its superblocks, FAT, root directory and
// backup headers at their real offsets, zeros everywhere else.
//
//   le64 device_size   clamped to [1 byte past the last chunk, kMaxDevice]
//   le32 flags         bit 0: 4096-byte logical sectors (else 512)
//   then chunks until the input ends: le64 offset, le32 length, length bytes
//   (a chunk past device_size is cut at it; a truncated last chunk keeps what is there)
//
// The image lives in a memfd (sparse: zeros cost nothing), so readers that take an io::Fd run
// their real I/O paths. tests/fuzz/make_seed.cpp writes this format from an image file.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::fuzz {

inline constexpr uint64_t kMaxDevice = 1ull << 30;
inline constexpr size_t kImageHeader = 12, kChunkHeader = 12;

struct Chunk {
  uint64_t offset = 0;
  const uint8_t* data = nullptr;
  size_t len = 0;
};

struct SparseImage {
  uint64_t size = 0;
  uint32_t sector_size = 512;
  std::vector<Chunk> chunks;
};

// Parses the input format; false when the input is too short to hold the header.
inline bool parse_sparse_image(const uint8_t* data, size_t size, SparseImage& img) {
  if (size < kImageHeader) return false;
  uint64_t want = load_le64(data);
  img.sector_size = (load_le32(data + 8) & 1) ? 4096 : 512;
  uint64_t end = 0;
  for (size_t pos = kImageHeader; pos + kChunkHeader <= size;) {
    Chunk c;
    c.offset = load_le64(data + pos) % kMaxDevice;
    c.len = std::min<size_t>(load_le32(data + pos + 8), size - pos - kChunkHeader);
    c.len = static_cast<size_t>(std::min<uint64_t>(c.len, kMaxDevice - c.offset));
    c.data = data + pos + kChunkHeader;
    pos += kChunkHeader + c.len;
    end = std::max(end, c.offset + c.len);
    img.chunks.push_back(c);
  }
  img.size = std::clamp<uint64_t>(want, std::max<uint64_t>(end, 1), kMaxDevice);
  return true;
}

// The image as a file descriptor (memfd); chunks later in the input overwrite earlier ones.
inline io::Fd memfd_image(const SparseImage& img) {
  int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
  if (fd < 0) __builtin_trap();  // the harness, not the parser, failed
  io::Fd f(fd, "fuzz-image");
  if (ftruncate(fd, static_cast<off_t>(img.size)) != 0) __builtin_trap();
  for (const auto& c : img.chunks)
    if (c.len) f.pwrite_exact(c.data, c.len, c.offset);
  return f;
}

// The same bytes, materialised (for readers that take a buffer); callers keep it small.
inline std::vector<uint8_t> flat_image(const SparseImage& img, uint64_t max_bytes) {
  std::vector<uint8_t> out(static_cast<size_t>(std::min(img.size, max_bytes)), 0);
  for (const auto& c : img.chunks)
    if (c.offset < out.size())
      std::memcpy(out.data() + c.offset, c.data, std::min<uint64_t>(c.len, out.size() - c.offset));
  return out;
}

// Reads [off, off+len) of the memfd image, zeros past the end (what the readers' ReadFns expect).
inline void read_zero_filled(const io::Fd& fd, uint64_t size, uint64_t off, void* buf, size_t len) {
  std::memset(buf, 0, len);
  if (off < size) fd.pread_some(buf, static_cast<size_t>(std::min<uint64_t>(len, size - off)), off);
}

// The usual target body: fn(img, fd) on the input's image, where a mos::Error (the reader
// refusing the bytes) is a fine outcome and anything else escaping is a finding.
template <class Fn>
int run_on_image(const uint8_t* data, size_t size, Fn fn) {
  SparseImage img;
  if (!parse_sparse_image(data, size, img)) return 0;
  io::Fd fd = memfd_image(img);
  try {
    fn(img, fd);
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace mos::fuzz
