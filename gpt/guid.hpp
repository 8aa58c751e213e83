// GUIDs as GPT stores them: the first three fields little-endian, the last eight bytes as-is
// (UEFI "mixed-endian"). Text form is the lowercase 8-4-4-4-12 string blkid prints.
#pragma once
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mos::gpt {

struct Guid {
  uint8_t b[16] = {};  // on-disk byte order

  // Parses "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" (any case, optional braces); nullopt if malformed.
  static std::optional<Guid> parse(std::string_view text);
  // Version-4 random GUID from libuuid.
  static Guid random();

  std::string to_string() const;  // lowercase, as blkid prints PARTUUID
  bool is_zero() const;
  bool operator==(const Guid& o) const { return std::memcmp(b, o.b, 16) == 0; }
  bool operator!=(const Guid& o) const { return !(*this == o); }
};
static_assert(sizeof(Guid) == 16 && alignof(Guid) == 1);

}  // namespace mos::gpt
