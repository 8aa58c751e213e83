// Text conventions of blkid output, shared by all probers.
#include <cctype>
#include <cstdio>

#include "fsmake/probe_internal.hpp"

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

static std::string hex_uuid(const uint8_t* b) {
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string uuid_text(std::span<const uint8_t> raw) {
  if (raw.size() < 16 || all_zero(raw.first(16))) return {};
  return hex_uuid(raw.data());
}

static void append_utf8(std::string& s, uint32_t cp) {
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf16_to_utf8(std::span<const uint8_t> raw, bool big_endian) {
  std::string s;
  auto unit = [&](size_t i) -> uint32_t {
    return big_endian ? (uint32_t{raw[i]} << 8) | raw[i + 1] : (uint32_t{raw[i + 1]} << 8) | raw[i];
  };
  for (size_t i = 0; i + 1 < raw.size(); i += 2) {
    uint32_t c = unit(i);
    if (c == 0) break;
    if (c >= 0xD800 && c <= 0xDBFF && i + 3 < raw.size()) {
      uint32_t lo = unit(i + 2);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        append_utf8(s, 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00));
        i += 2;
        continue;
      }
    }
    append_utf8(s, c);
  }
  return s;
}

Signature make_signature(std::string_view type, uint64_t offset, std::span<const uint8_t> bytes) {
  return Signature{std::string(type), offset, static_cast<uint32_t>(bytes.size()),
                   std::vector<uint8_t>(bytes.begin(), bytes.end())};
}

bool found_at(ProbeSource& src, std::string_view type, uint64_t off, uint32_t len, Found& out) {
  auto b = src.get(off, len);
  if (b.empty()) return false;
  out.sigs.push_back(make_signature(type, off, b));
  return true;
}

}  // namespace mos::fsmake::probe
