#include "engine/safety.hpp"

#include <fcntl.h>

#include "engine/content_state.hpp"
#include "engine/erased_table.hpp"
#include "engine/inventory/content.hpp"
#include "engine/disk_access.hpp"
#include "engine/policy.hpp"
#include "fsmake/probe/probe.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {

void require_not_in_use(const Device& d) {
  auto busy = d.kind == "partition" ? busy_reason(d.name) : disk_busy_reason(d.name);
  if (busy) throw Error(ErrorCode::validation, *busy + "; refusing to modify " + d.path, d.path);
}

namespace {

std::string device_content_refusal(const Device& d, fsmake::ProbeSource& src) {
  return content_refusal(d.path, probe_result_of(d), src, d.kind != "partition");
}

}  // namespace

std::string content_refusal(const std::string& path, const fsmake::ProbeResult& r, fsmake::ProbeSource& src,
                            bool whole_device) {
  if (!r.damaged.empty()) return path + " carries " + damaged_content_text(r);
  if (!r.type.empty() || !r.pttype.empty()) {
    // "a gpt partition table" / "an ext4 signature (LABEL=...)", as this gate has always said it
    std::string what = !r.pttype.empty() ? "a " + r.pttype + " partition table" : "a " + r.type + " signature";
    if (!r.label.empty()) what += " (LABEL=" + r.label + ")";
    return path + " carries " + what;
  }
  // What the prober cannot name is still somebody's data (issue 11 item 7), wherever a format
  // keeps a superblock or a copy (issue 18).
  if (src.size() == 0) return {};
  if (auto off = first_unnamed_nonzero(src)) return path + " carries unrecognised data at offset " + std::to_string(*off);
  // A whole device with blank edges may be a partition table erased in front of its partitions.
  if (whole_device && src.device())
    if (auto found = find_erased_partitions(*src.device(), src.size(), src.sector_size())) return path + " " + found->message();
  return {};
}

std::string content_refusal(const Device& d) {
  if (d.fstype || d.pttype || d.size_bytes == 0) {
    fsmake::ProbeSource none(std::span<const uint8_t>{}, 512);
    return device_content_refusal(d, none);
  }
  io::Fd fd = io::open_block(d.path, O_RDONLY);
  fsmake::ProbeSource src(fd, d.size_bytes, d.logical_sector_size, fsmake::ProbeSource::Read::whole);
  return device_content_refusal(d, src);
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
    if (std::string why = device_content_refusal(d, src); !why.empty())
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
