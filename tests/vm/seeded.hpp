// Deterministic file contents for VM scenarios, shared by the guest init (which writes them) and
// the host tests (which expect them): byte i of (seed, n) never depends on n, so a prefix of a
// longer file is the shorter file. Digests are XXH128 printed like `xxhsum -H2`.
#pragma once
#include <xxhash.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace mos::vmtest {

inline uint64_t seeded_word(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;  // splitmix64
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Bytes [offset, offset + n) of the stream for seed (little-endian words).
inline void fill_seeded(uint64_t seed, uint64_t offset, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    uint64_t pos = offset + i;
    out[i] = static_cast<uint8_t>(seeded_word(seed, pos / 8) >> (8 * (pos % 8)));
  }
}

inline std::string seeded_bytes(uint64_t seed, size_t n) {
  std::string s(n, '\0');
  fill_seeded(seed, 0, reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

inline std::string xxh128_hex(XXH128_hash_t h) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  std::string hex;
  char b[3];
  for (unsigned char byte : c.digest) {
    std::snprintf(b, sizeof b, "%02x", byte);
    hex += b;
  }
  return hex;
}

inline std::string xxh128_hex(const void* data, size_t n) { return xxh128_hex(XXH3_128bits(data, n)); }

}  // namespace mos::vmtest
