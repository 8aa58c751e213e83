// Metadata version names and the two UUID spellings (mdadm's colon groups, blkid's dashes).
#include <cstdio>

#include "base/error.hpp"
#include "mdraid/superblock.hpp"

namespace mos::mdraid {

std::string_view metadata_text(Metadata m) { return m == Metadata::v0_90 ? "0.90" : "1.2"; }

Metadata parse_metadata(std::string_view text) {
  if (text == "0.90" || text == "0.9" || text == "0") return Metadata::v0_90;
  if (text == "1.2") return Metadata::v1_2;
  throw_validation("md metadata version '" + std::string(text) +
                   "' is not supported (use \"0.90\" or \"1.2\")");
}

std::string mdadm_uuid_text(const Uuid& uuid) {
  std::string s;
  char hex[3];
  for (size_t i = 0; i < 16; ++i) {
    if (i && i % 4 == 0) s += ':';
    std::snprintf(hex, sizeof hex, "%02x", uuid[i]);
    s += hex;
  }
  return s;
}

std::optional<Uuid> parse_uuid(std::string_view text) {
  Uuid out{};
  size_t n = 0;
  int half = -1;
  for (char c : text) {
    if (c == ':' || c == '-') continue;
    int v = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (v < 0 || n >= 16) return std::nullopt;
    if (half < 0) {
      half = v;
    } else {
      out[n++] = static_cast<uint8_t>(half << 4 | v);
      half = -1;
    }
  }
  if (n != 16 || half >= 0) return std::nullopt;
  return out;
}

}  // namespace mos::mdraid
