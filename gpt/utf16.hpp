// GPT partition names: UTF-8 in our API, UTF-16LE (36 code units, NUL-padded) on disk.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mos::gpt {

constexpr size_t kNameUnits = 36;

// UTF-8 → UTF-16 code units; throws a validation error for invalid UTF-8, NUL characters, or a
// name longer than 36 UTF-16 units (naming the limit).
std::vector<uint16_t> encode_name(std::string_view utf8);
// UTF-16 units up to the first NUL → UTF-8; unpaired surrogates become U+FFFD.
std::string decode_name(const uint16_t* units, size_t count);

}  // namespace mos::gpt
