// Text forms shared by every layer: sizes ("512M", "10%"), UUIDs as blkid prints them, and
// UTF-8 <-> UTF-16 (GPT partition names, probed labels). One codec of each, used everywhere.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/uuid.hpp"

namespace mos {

// "1048576", "512K", "10M", "1G", "2T", "1P" (binary units; "KiB"/"KB"/"k" accepted), and
// "N%" of `percent_of` when the caller has a whole to take a share of (else % is refused).
// Overflow, empty text, fractions and unknown suffixes throw Error(invalid_params) naming `what`.
uint64_t parse_size(std::string_view text, std::string_view what,
                    std::optional<uint64_t> percent_of = std::nullopt);

// "34095104 bytes (32.5 MiB)" for messages.
std::string bytes_text(uint64_t bytes);

// The last component of a path: "/sys/devices/.../loop3" -> "loop3"; the text itself without '/'.
std::string base_name(std::string_view path);

// "01234567-89ab-cdef-0123-456789abcdef", lower case, bytes in on-disk order (as blkid prints).
std::string uuid_text(std::span<const uint8_t, 16> uuid);
// The inverse; nullopt unless exactly 36 characters of that shape.
std::optional<Uuid> parse_uuid(std::string_view text);

// Appends code point `cp` as UTF-8.
void append_utf8(std::string& out, uint32_t cp);
// UTF-8 -> UTF-16 code units; throws Error(validation) "<what> is not valid UTF-8" for invalid or
// overlong sequences and surrogates, and for NUL characters.
std::vector<uint16_t> utf8_to_utf16(std::string_view utf8, std::string_view what);
// UTF-16 code units up to the first NUL -> UTF-8. An unpaired surrogate becomes U+FFFD when
// `replace_unpaired`, else it is encoded as it stands (what libblkid prints for labels).
std::string utf16_to_utf8(std::span<const uint16_t> units, bool replace_unpaired = true);
// The same from raw bytes (little or big endian units).
std::string utf16_bytes_to_utf8(std::span<const uint8_t> raw, bool big_endian, bool replace_unpaired = true);

}  // namespace mos
