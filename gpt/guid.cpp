#include "gpt/guid.hpp"

#include "base/uuid.hpp"

namespace mos::gpt {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Text order is big-endian per field; GPT stores fields 1-3 little-endian.
constexpr int kTextToDisk[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

}  // namespace

std::optional<Guid> Guid::parse(std::string_view s) {
  if (s.size() == 38 && s.front() == '{' && s.back() == '}') s = s.substr(1, 36);
  if (s.size() != 36) return std::nullopt;
  uint8_t text_bytes[16];
  size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
      if (s[pos] != '-') return std::nullopt;
      ++pos;
    }
    int hi = hex_value(s[pos]), lo = hex_value(s[pos + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    text_bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    pos += 2;
  }
  Guid g;
  for (int i = 0; i < 16; ++i) g.b[kTextToDisk[i]] = text_bytes[i];
  return g;
}

Guid Guid::random() {
  const Uuid u = random_uuid();  // in text order
  Guid g;
  for (int i = 0; i < 16; ++i) g.b[kTextToDisk[i]] = u[i];
  return g;
}

std::string Guid::to_string() const {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    uint8_t v = b[kTextToDisk[i]];
    out += hex[v >> 4];
    out += hex[v & 15];
  }
  return out;
}

bool Guid::is_zero() const {
  for (uint8_t x : b)
    if (x) return false;
  return true;
}

}  // namespace mos::gpt
