#include "engine/context.hpp"

#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>

#include "engine/events.hpp"
#include "engine/jobs.hpp"
#include "ioctl/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {
namespace {

// A stack of devices is a small DAG in sysfs; this bounds the walk whatever sysfs holds.
constexpr size_t kMaxStackDevices = 256;

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// Kernel name of a block-device node ("/dev/md/mosboot" → "md127"), or "" when not one.
std::string block_name_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return {};
  auto link = io::read_link("/sys/dev/block/" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)));
  return link ? base_name(*link) : std::string();
}

// Names of the devices `name` is built on, one level down.
std::vector<std::string> lower_devices(const std::string& name) {
  std::vector<std::string> out;
  const std::string sys = "/sys/class/block/" + name;
  if (io::sysfs_exists(sys + "/partition")) {
    auto link = io::read_link(sys);  // .../block/<disk>/<partition>
    if (link) {
      std::string parent = link->substr(0, link->rfind('/'));
      out.push_back(base_name(parent));
    }
  }
  for (const auto& s : io::list_dir(sys + "/slaves")) out.push_back(s);
  if (auto backing = io::sysfs_string(sys + "/loop/backing_file")) {
    std::string lower = block_name_of(*backing);
    if (!lower.empty()) out.push_back(lower);
  }
  return out;
}

}  // namespace

bool Policy::allowed(const std::string& device_path) const { return first_refused(device_path).empty(); }

std::string Policy::first_refused(const std::string& device_path) const {
  if (allow_devices.empty()) return {};
  auto glob_ok = [&](const std::string& path) {
    for (const auto& g : allow_devices)
      if (fnmatch(g.c_str(), path.c_str(), FNM_PATHNAME) == 0) return true;
    return false;
  };
  if (!glob_ok(device_path)) return device_path;
  std::string top = block_name_of(device_path);
  if (top.empty()) return {};  // not (yet) a block device: the path alone decides
  std::vector<std::string> todo = lower_devices(top);
  std::set<std::string> seen{top};
  while (!todo.empty()) {
    std::string name = todo.back();
    todo.pop_back();
    if (!seen.insert(name).second) continue;
    if (seen.size() > kMaxStackDevices) return "/dev/" + name;  // absurd stack: refuse
    if (!glob_ok("/dev/" + name)) return "/dev/" + name;
    for (auto& lower : lower_devices(name)) todo.push_back(std::move(lower));
  }
  return {};
}

void Policy::require_allowed(const std::string& device_path) const {
  std::string refused = first_refused(device_path);
  if (refused.empty()) return;
  std::string globs;
  for (const auto& g : allow_devices) globs += (globs.empty() ? "" : ",") + g;
  std::string what = refused == device_path ? "device " + device_path
                                            : "device " + device_path + " stacks on " + refused + ", which";
  throw Error(ErrorCode::validation, what + " is not allowed (daemon runs with --allow-devices '" + globs + "')",
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

void Context::publish(const Event& e) const {
  if (events) events->publish(e);
}

}  // namespace mos::engine
