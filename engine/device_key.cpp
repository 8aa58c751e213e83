#include "engine/device_key.hpp"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "engine/inventory/devices.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

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

std::string btrfs_job_key(const std::string& path) {
  std::error_code ec;
  std::string canonical = std::filesystem::canonical(path, ec).string();
  if (ec) canonical = path;
  // O_PATH cannot carry an ioctl; a plain read-only open of a file or directory can (never of a
  // device node or FIFO, whose open has effects: their directory instead), and O_NOFOLLOW does
  // not follow a last-component symlink swapped in meanwhile.
  struct stat st {};
  std::string open_path = canonical;
  if (::lstat(canonical.c_str(), &st) != 0 || !(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)))
    open_path = std::filesystem::path(canonical).parent_path().string();
  const int fd = ::open(open_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return canonical;
  btrfs_ioctl_fs_info_args fi{};
  const bool ok = ::ioctl(fd, BTRFS_IOC_FS_INFO, &fi) == 0;
  ::close(fd);
  if (!ok) return canonical;
  std::string key = "btrfs:";
  key += mos::uuid_text(fi.fsid);
  return key;
}

}  // namespace mos::engine
