#include "engine/safety.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "ioctl/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {
namespace {

bool is_active_swap(const std::string& dev_path) {
  std::string swaps;
  try {
    swaps = io::read_text_file("/proc/swaps");
  } catch (const Error&) {
    return false;
  }
  std::istringstream s(swaps);
  std::string line;
  while (std::getline(s, line)) {
    std::istringstream f(line);
    std::string name;
    f >> name;
    if (name == dev_path) return true;
  }
  return false;
}

// A btrfs filesystem lists its member devices in /sys/fs/btrfs/<fsid>/devices/ while mounted.
std::string mounted_btrfs_fsid_of(const std::string& name) {
  for (const auto& fsid : io::list_dir("/sys/fs/btrfs")) {
    if (fsid == "features") continue;
    for (const auto& dev : io::list_dir("/sys/fs/btrfs/" + fsid + "/devices"))
      if (dev == name) return fsid;
  }
  return {};
}

}  // namespace

void require_not_in_use(const Device& d) {
  auto refuse = [&](const std::string& why) {
    throw Error(ErrorCode::validation, d.path + " " + why + "; refusing to modify it", d.path);
  };
  if (!d.mountpoints.empty()) refuse("is mounted at " + d.mountpoints.front());
  if (!d.holders.empty()) refuse("is held by " + d.holders.front());
  if (is_active_swap(d.path)) refuse("is an active swap device");
  if (auto fsid = mounted_btrfs_fsid_of(d.name); !fsid.empty()) refuse("is a member of mounted btrfs " + fsid);
  if (d.kind != "partition") {
    for (const auto& child : io::list_dir("/sys/class/block/" + d.name)) {
      if (child.rfind(d.name, 0) != 0 || !io::sysfs_exists("/sys/class/block/" + child + "/partition")) continue;
      Device p = find_device(child, DiscoverOptions{false});
      if (!p.mountpoints.empty() || !p.holders.empty() || is_active_swap(p.path) ||
          !mounted_btrfs_fsid_of(p.name).empty())
        refuse("has partition " + p.path + " in use");
    }
  }
  // The kernel's own verdict: an exclusive open fails while anything holds the device.
  int fd = ::open(d.path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0 && errno == EBUSY) refuse("is in use (exclusive open failed)");
  if (fd >= 0) ::close(fd);
}

Device require_unused(const std::string& device_path, bool force) {
  Device d = find_device(device_path);
  if (d.read_only) throw Error(ErrorCode::validation, d.path + " is read-only", d.path);
  require_not_in_use(d);
  if (!force && (d.fstype || d.pttype)) {
    std::string what = d.pttype ? "a " + *d.pttype + " partition table" : "a " + *d.fstype + " signature";
    if (d.label) what += " (LABEL=" + *d.label + ")";
    throw Error(ErrorCode::validation, d.path + " carries " + what + "; pass force to overwrite it", d.path);
  }
  return d;
}

}  // namespace mos::engine
