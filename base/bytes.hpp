// Byte-level helpers shared by every on-disk format: explicit little/big-endian fields for
// packed structs, and CRC32C (Castagnoli), which ext4, jbd2 and btrfs use and zlib lacks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace mos {

// Little-endian integer stored as raw bytes: alignment 1, so it is safe in packed structs
// and can be static_assert'ed to exact on-disk sizes.
template <typename T>
struct Le {
  uint8_t b[sizeof(T)];
  T get() const {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(b[i]) << (8 * i));
    return v;
  }
  void set(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  }
  operator T() const { return get(); }
  Le& operator=(T v) { set(v); return *this; }
};

template <typename T>
struct Be {
  uint8_t b[sizeof(T)];
  T get() const {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | b[i]);
    return v;
  }
  void set(T v) {
    for (size_t i = 0; i < sizeof(T); ++i) b[sizeof(T) - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
  operator T() const { return get(); }
  Be& operator=(T v) { set(v); return *this; }
};

using le16 = Le<uint16_t>;
using le32 = Le<uint32_t>;
using le64 = Le<uint64_t>;
using be16 = Be<uint16_t>;
using be32 = Be<uint32_t>;
using be64 = Be<uint64_t>;
static_assert(sizeof(le64) == 8 && alignof(le64) == 1);

// Whether all n bytes at p are zero: the first is, and each equals the one after it (one
// memcmp of the range against itself shifted by a byte: the library's vectorised compare).
inline bool all_zero(const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  return n == 0 || (b[0] == 0 && std::memcmp(b, b + 1, n - 1) == 0);
}
inline bool all_zero(std::span<const uint8_t> bytes) { return all_zero(bytes.data(), bytes.size()); }

inline uint16_t load_le16(const void* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t load_le32(const void* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t load_le64(const void* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline void store_le16(void* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void store_le32(void* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void store_le64(void* p, uint64_t v) { std::memcpy(p, &v, 8); }
inline uint32_t load_be32(const void* p) {
  auto* b = static_cast<const uint8_t*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// Raw CRC32C register update: no initial or final inversion (callers apply their format's
// convention; ext4 seeds with ~0 and stores the raw register, btrfs stores ~register).
uint32_t crc32c_update(uint32_t crc, const void* data, size_t len);
// Standard CRC-32C (init ~0, final xor ~0): crc32c("123456789") == 0xE3069283.
inline uint32_t crc32c(const void* data, size_t len) { return ~crc32c_update(~0u, data, len); }

}  // namespace mos
