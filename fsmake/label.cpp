#include "fsmake/label.hpp"

#include "base/error.hpp"

namespace mos::fsmake {

namespace {

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// UTF-8 characters (lead bytes) among the first `bytes` bytes; invalid bytes count one each.
size_t characters_in(const std::string& s, size_t bytes) {
  size_t n = 0;
  for (size_t i = 0; i < bytes && i < s.size(); ++i)
    if (!continuation_byte(s[i])) ++n;
  return n;
}

}  // namespace

std::string label_length_text(const std::string& label) {
  std::string out = std::to_string(label.size());
  out += " bytes";
  const size_t chars = characters_in(label, label.size());
  if (chars != label.size()) {
    out += " (";
    out += std::to_string(chars);
    out += " characters)";
  }
  return out;
}

std::string label_position_text(const std::string& label, size_t byte_index) {
  const size_t character = characters_in(label, byte_index + 1);
  std::string out = "position ";
  out += std::to_string(character);
  if (character != byte_index + 1) {
    out += " (byte ";
    out += std::to_string(byte_index + 1);
    out += ")";
  }
  return out;
}

void validate_label(std::string_view fstype, const std::string& label, size_t max_bytes) {
  const std::string fs(fstype);
  if (label.size() > max_bytes)
    throw_validation(fs + " label '" + label + "' is " + label_length_text(label) + "; " + fs +
                     " labels hold at most " + std::to_string(max_bytes) + " bytes");
  for (size_t i = 0; i < label.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(label[i]);
    if (c < 0x20 || c == 0x7F)
      throw_validation("control character at " + label_position_text(label, i) + " of " + fs +
                       " label is not allowed; use printable text");
  }
}

}  // namespace mos::fsmake
