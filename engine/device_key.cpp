#include "engine/device_key.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <system_error>

#include "engine/devices.hpp"
#include "ioctl/error.hpp"

namespace mos::engine {

std::string device_job_key(const std::string& path) {
  std::error_code ec;
  const std::string canonical = std::filesystem::canonical(path, ec).string();
  if (ec) return path;
  struct stat st {};
  if (::stat(canonical.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return canonical;
  try {
    // The kernel's model of the node (sysfs), not its name: a partition keys by its disk.
    Device d = find_device(canonical, DiscoverOptions{false});
    if (d.parent) d = find_device(*d.parent, DiscoverOptions{false});
    std::string key = "block:";
    key += std::to_string(d.major);
    key += ':';
    key += std::to_string(d.minor);
    return key;
  } catch (const Error&) {
    return canonical;  // a node outside /dev or unknown to sysfs: its path
  }
}

}  // namespace mos::engine
