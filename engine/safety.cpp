#include "engine/safety.hpp"

#include <fcntl.h>

#include "engine/inventory/content.hpp"
#include "engine/disk_access.hpp"
#include "engine/policy.hpp"
#include "fsmake/probe/probe.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {

void require_not_in_use(const Device& d) {
  auto busy = d.kind == "partition" ? busy_reason(d.name) : disk_busy_reason(d.name);
  if (busy) throw Error(ErrorCode::validation, *busy + "; refusing to modify " + d.path, d.path);
}

namespace {

std::string content_refusal(const Device& d, fsmake::ProbeSource& src) {
  if (d.fstype || d.pttype) {
    std::string what = d.pttype ? "a " + *d.pttype + " partition table" : "a " + *d.fstype + " signature";
    if (d.label) what += " (LABEL=" + *d.label + ")";
    return d.path + " carries " + what;
  }
  // What the prober cannot name is still somebody's data: refused like a signature.
  if (src.size() == 0) return {};
  if (auto off = nonzero_edge(src)) return d.path + " carries unrecognised data at offset " + std::to_string(*off);
  return {};
}

}  // namespace

std::string content_refusal(const Device& d) {
  if (d.fstype || d.pttype || d.size_bytes == 0) {
    fsmake::ProbeSource none(std::span<const uint8_t>{}, 512);
    return content_refusal(d, none);
  }
  io::Fd fd = io::Fd::open(d.path, O_RDONLY);
  fsmake::ProbeSource src(fd, d.size_bytes, d.logical_sector_size, fsmake::ProbeSource::Read::whole);
  return content_refusal(d, src);
}

Device require_idle(const std::string& device_path) {
  Device d = find_device(device_path, DiscoverOptions(false));
  refuse_read_only(d.path, d.read_only);
  require_not_in_use(d);
  return d;
}

void require_blank_unless_forced(Device& d, fsmake::ProbeSource& src, bool force) {
  fill_content_from(d, fsmake::probe_device(src));
  if (!force)
    if (std::string why = content_refusal(d, src); !why.empty())
      throw Error(ErrorCode::validation, why + "; pass force to overwrite it", d.path);
}

Device require_unused(const std::string& device_path, bool force) {
  Device d = find_device(device_path);
  refuse_read_only(d.path, d.read_only);
  require_not_in_use(d);
  if (!force)
    if (std::string why = content_refusal(d); !why.empty())
      throw Error(ErrorCode::validation, why + "; pass force to overwrite it", d.path);
  return d;
}

}  // namespace mos::engine
