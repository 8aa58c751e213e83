#include "gpt/utf16.hpp"

#include "base/error.hpp"
#include "base/text.hpp"

namespace mos::gpt {

std::vector<uint16_t> encode_name(std::string_view s) {
  std::vector<uint16_t> out = mos::utf8_to_utf16(s, "partition name");
  if (out.size() > kNameUnits)
    throw_validation("partition name '" + std::string(s) + "' is " + std::to_string(out.size()) +
                     " UTF-16 units long; GPT allows at most 36");
  return out;
}

std::string decode_name(const uint16_t* u, size_t n) {
  return mos::utf16_to_utf8({u, n}, /*replace_unpaired=*/true);
}

}  // namespace mos::gpt
