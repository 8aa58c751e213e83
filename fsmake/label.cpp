#include "fsmake/label.hpp"

#include "ioctl/error.hpp"

namespace mos::fsmake {

void validate_label(std::string_view fstype, const std::string& label, size_t max_bytes) {
  const std::string fs(fstype);
  if (label.size() > max_bytes)
    throw_validation(fs + " label '" + label + "' is " + std::to_string(label.size()) + " bytes; " + fs +
                     " labels hold at most " + std::to_string(max_bytes) + " bytes");
  for (size_t i = 0; i < label.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(label[i]);
    if (c < 0x20 || c == 0x7F)
      throw_validation("control character at position " + std::to_string(i + 1) + " of " + fs +
                       " label is not allowed; use printable text");
  }
}

}  // namespace mos::fsmake
