// Text conventions of blkid output, shared by all probers.
#include <cctype>
#include <cstdio>

#include "fsmake/probe_internal.hpp"
#include "ioctl/text.hpp"

namespace mos::fsmake::probe {

std::string label_text(std::span<const uint8_t> raw) {
  std::string s;
  for (uint8_t c : raw) {
    if (c == 0) break;
    s.push_back(static_cast<char>(c));
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool all_zero(std::span<const uint8_t> raw) {
  for (uint8_t c : raw)
    if (c) return false;
  return true;
}

std::string uuid_text(std::span<const uint8_t> raw) {
  if (raw.size() < 16 || all_zero(raw.first(16))) return {};
  return io::uuid_text(raw.first<16>());
}

std::string utf16_to_utf8(std::span<const uint8_t> raw, bool big_endian) {
  return io::utf16_bytes_to_utf8(raw, big_endian, /*replace_unpaired=*/false);
}

Signature make_signature(std::string_view type, uint64_t offset, std::span<const uint8_t> bytes) {
  return Signature{std::string(type), offset, static_cast<uint32_t>(bytes.size()),
                   std::vector<uint8_t>(bytes.begin(), bytes.end())};
}

}  // namespace mos::fsmake::probe
