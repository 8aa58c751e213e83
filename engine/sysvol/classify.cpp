#include "engine/sysvol/classify.hpp"

#include <fcntl.h>

#include "base/error.hpp"
#include "fsmake/probe/source.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine::sysvol {

ContentVerdict classify_device(const std::string& device, std::string_view fstype, std::string_view label) {
  try {
    io::Fd fd = io::open_block(device, O_RDONLY);
    io::BlockFacts f = io::block_facts(fd);
    fsmake::ProbeSource src(fd, f.size_bytes, f.logical_sector_size);
    return classify_content(src, fstype, label);
  } catch (const Error& e) {
    ContentVerdict v;
    v.state = ContentState::damaged;
    v.reason = std::string("cannot be read: ") + e.what();
    return v;
  }
}

std::string verdict_reason(const std::string& device, const ContentVerdict& v) {
  const std::string prefix = device + " ";
  if (v.reason.rfind(prefix, 0) == 0) return v.reason.substr(prefix.size());
  if (v.reason.rfind(device + ": ", 0) == 0) return v.reason.substr(device.size() + 2);
  return v.reason;
}

std::string expected_text(std::string_view fstype, std::string_view label) {
  if (label.empty()) return std::string(fstype);
  return std::string(label) + " (" + std::string(fstype) + ")";
}

}  // namespace mos::engine::sysvol
