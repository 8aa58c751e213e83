#include "ioctl/mountinfo.hpp"

#include <sstream>

#include "ioctl/fd.hpp"

namespace mos::io {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> parse_mountinfo(const std::string& text) {
  std::vector<MountEntry> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    MountEntry m;
    std::string devnum, tok;
    if (!(f >> m.mount_id >> m.parent_id >> devnum >> m.root >> m.mount_point >> m.mount_options)) continue;
    auto colon = devnum.find(':');
    if (colon == std::string::npos) continue;
    m.major = static_cast<unsigned>(std::stoul(devnum.substr(0, colon)));
    m.minor = static_cast<unsigned>(std::stoul(devnum.substr(colon + 1)));
    // Optional fields end with a lone "-".
    while (f >> tok && tok != "-") {}
    if (tok != "-") continue;
    if (!(f >> m.fstype >> m.source)) continue;
    f >> m.super_options;
    m.root = unescape(m.root);
    m.mount_point = unescape(m.mount_point);
    m.source = unescape(m.source);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MountEntry> read_mountinfo(const std::string& path) {
  return parse_mountinfo(read_text_file(path));
}

}  // namespace mos::io
