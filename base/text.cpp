#include "base/text.hpp"

#include <cctype>
#include <cstdio>

#include "base/error.hpp"

namespace mos {

uint64_t parse_size(std::string_view text, std::string_view what, std::optional<uint64_t> percent_of) {
  auto bad = [&](const std::string& why) -> uint64_t {
    throw Error(ErrorCode::invalid_params, std::string(what) + " '" + std::string(text) + "' " + why +
                                               " (use bytes or a K/M/G/T/P suffix, e.g. 512M or 10G" +
                                               (percent_of ? ", or N%)" : ")"));
  };
  size_t i = 0;
  uint64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return bad("is too large");
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return bad("is not a size");
  std::string_view suffix = text.substr(i);
  if (suffix == "%") {
    if (!percent_of) return bad("is a percentage, which this size does not take");
    if (n == 0 || n > 100) return bad("must be a percentage from 1 to 100");
    // n <= 100 and the whole fits in 64 bits: split to avoid overflowing the product.
    return *percent_of / 100 * n + *percent_of % 100 * n / 100;
  }
  if (suffix.empty() || suffix == "B") return n;
  static constexpr std::string_view kUnits = "KMGTP";
  size_t k = kUnits.find(static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0]))));
  std::string_view rest = suffix.substr(1);
  if (k == std::string_view::npos || !(rest.empty() || rest == "iB" || rest == "B")) return bad("has an unknown suffix");
  unsigned shift = 10 * static_cast<unsigned>(k + 1);
  if (n > (UINT64_MAX >> shift)) return bad("is too large");
  return n << shift;
}

std::string bytes_text(uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, ++u;
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%llu bytes (%.4g %s)", static_cast<unsigned long long>(bytes), v, units[u]);
  return buf;
}

std::string base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string uuid_text(std::span<const uint8_t, 16> b) {
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::optional<Uuid> parse_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  Uuid u{};
  size_t byte = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    int hi = hex(text[i]), lo = hex(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    u[byte++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return u;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint16_t> utf8_to_utf16(std::string_view s, std::string_view what) {
  std::vector<uint16_t> out;
  auto bad = [&] { throw_validation(std::string(what) + " is not valid UTF-8"); };
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (c < 0x80) cp = c, len = 1;
    else if ((c & 0xE0) == 0xC0) cp = c & 0x1F, len = 2;
    else if ((c & 0xF0) == 0xE0) cp = c & 0x0F, len = 3;
    else if ((c & 0xF8) == 0xF0) cp = c & 0x07, len = 4;
    else bad();
    if (i + len > s.size()) bad();
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) bad();
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) bad();
    if (cp == 0) throw_validation(std::string(what) + " must not contain NUL characters");
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      out.push_back(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
    i += len;
  }
  return out;
}

std::string utf16_to_utf8(std::span<const uint16_t> u, bool replace_unpaired) {
  std::string out;
  for (size_t i = 0; i < u.size() && u[i]; ++i) {
    uint32_t cp = u[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < u.size() && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00u);
      ++i;
    } else if (replace_unpaired && cp >= 0xD800 && cp <= 0xDFFF) {
      cp = 0xFFFD;
    }
    append_utf8(out, cp);
  }
  return out;
}

std::string utf16_bytes_to_utf8(std::span<const uint8_t> raw, bool big_endian, bool replace_unpaired) {
  std::vector<uint16_t> units;
  units.reserve(raw.size() / 2);
  for (size_t i = 0; i + 1 < raw.size(); i += 2)
    units.push_back(static_cast<uint16_t>(big_endian ? raw[i] << 8 | raw[i + 1] : raw[i + 1] << 8 | raw[i]));
  return utf16_to_utf8(units, replace_unpaired);
}

}  // namespace mos
