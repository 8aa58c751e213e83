// Text conventions of blkid output, shared by all probers.
#include <cctype>
#include <cstdio>

#include "fsmake/probe/prober.hpp"
#include "base/bytes.hpp"
#include "base/text.hpp"

namespace mos::fsmake::probe {

// Up to the first NUL, trailing whitespace removed; bytes as they are.
static std::string label_bytes(std::span<const uint8_t> raw) {
  std::string s;
  for (uint8_t c : raw) {
    if (c == 0) break;
    s.push_back(static_cast<char>(c));
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Length of the well-formed UTF-8 sequence at s[i] (no overlongs, surrogates or > U+10FFFF);
// 0 when it is not one.
static size_t utf8_sequence(const std::string& s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (!len || i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k)
    if ((b(k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
  if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
  if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
  if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
  return len;
}

std::string label_text(std::span<const uint8_t> raw) { return valid_utf8(label_bytes(raw)); }

std::string valid_utf8(const std::string& in) {
  std::string out;
  for (size_t i = 0; i < in.size();) {
    size_t n = utf8_sequence(in, i);
    if (n) {
      out.append(in, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8: results go out as JSON
      ++i;
    }
  }
  return out;
}

std::string uuid_text(std::span<const uint8_t> raw) {
  if (raw.size() < 16 || all_zero(raw.first(16))) return {};
  return mos::uuid_text(raw.first<16>());
}

// IBM code page 437, the FAT default OEM code page (Linux vfat codepage=437), bytes 0x80-0xFF.
static constexpr char16_t kCp437High[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8, 0x00EF,
    0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1, 0x00ED, 0x00F3, 0x00FA,
    0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556, 0x2555, 0x2563, 0x2551, 0x2557,
    0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559,
    0x2558, 0x2552, 0x2553, 0x256B, 0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4,
    0x221E, 0x03C6, 0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

std::string oem_label_text(std::span<const uint8_t> raw) {
  std::string ascii = label_bytes(raw);  // NUL and trailing blanks as blkid
  std::string s;
  for (char ch : ascii) {
    auto c = static_cast<uint8_t>(ch);
    if (c < 0x80)
      s.push_back(ch);
    else
      mos::append_utf8(s, kCp437High[c - 0x80]);
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
