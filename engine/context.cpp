#include "engine/context.hpp"

#include <fnmatch.h>

#include "engine/jobs.hpp"
#include "ioctl/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {

bool Policy::allowed(const std::string& device_path) const {
  if (allow_devices.empty()) return true;
  for (const auto& g : allow_devices)
    if (fnmatch(g.c_str(), device_path.c_str(), FNM_PATHNAME) == 0) return true;
  return false;
}

void Policy::require_allowed(const std::string& device_path) const {
  require_allowed_stack(device_path, 0);
}

// A stacked device (md, dm) is allowed only when every device under it is (DESIGN.md).
void Policy::require_allowed_stack(const std::string& device_path, int depth) const {
  require_allowed_one(device_path);
  if (allow_devices.empty() || device_path.rfind("/dev/", 0) != 0 || depth >= 8) return;
  for (const auto& slave : io::list_dir("/sys/class/block/" + device_path.substr(5) + "/slaves"))
    require_allowed_stack("/dev/" + slave, depth + 1);
}

void Policy::require_allowed_one(const std::string& device_path) const {
  if (allowed(device_path)) return;
  std::string globs;
  for (const auto& g : allow_devices) globs += (globs.empty() ? "" : ",") + g;
  throw Error(ErrorCode::validation,
              "device " + device_path + " is not allowed (daemon runs with --allow-devices '" + globs + "')",
              device_path);
}

Policy Policy::from_globs(const std::string& s) {
  Policy p;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string g = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!g.empty()) p.allow_devices.push_back(g);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return p;
}

Jobs& Context::job_registry() const {
  if (!jobs) throw Error(ErrorCode::internal, "no job registry in this context");
  return *jobs;
}

}  // namespace mos::engine
