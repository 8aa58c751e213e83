#include "engine/volumes/holders.hpp"

#include <btrfsutil.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string_view>

#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine::volumes {

std::optional<std::string> attached_loop(const io::Fd& entry) {
  struct stat want {};
  if (::fstat(entry.get(), &want) != 0) return std::nullopt;
  for (const auto& dev : io::list_dir("/sys/block")) {
    if (dev.rfind("loop", 0) != 0) continue;
    auto backing = io::sysfs_string(std::string("/sys/block/").append(dev).append("/loop/backing_file"));
    if (!backing || backing->empty()) continue;
    struct stat st {};
    if (::stat(backing->c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) return std::string("/dev/").append(dev);
  }
  return std::nullopt;
}

// Strings are appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for
// "literal" + std::string here (GCC bug 105651).
std::optional<std::string> holder_of(const io::Fd& entry, bool is_fs) {
  if (!is_fs) {
    if (auto loop = attached_loop(entry)) return std::string("attached to ").append(*loop);
    return std::nullopt;
  }
  const std::string inside = std::string(entry.path()).append("/");
  char* rel = nullptr;
  std::string subvol_root;
  if (btrfs_util_subvolume_path_fd(entry.get(), 0, &rel) == BTRFS_UTIL_OK && rel) {
    const std::string_view relative(rel);
    subvol_root.resize(relative.size() + 1, '/');
    relative.copy(subvol_root.data() + 1, relative.size());
    std::free(rel);
  }
  for (const auto& m : io::read_mountinfo()) {
    if (m.mount_point == entry.path() || m.mount_point.rfind(inside, 0) == 0) return std::string("mounted at ").append(m.mount_point);
    if (m.fstype == "btrfs" && !subvol_root.empty() &&
        (m.root == subvol_root ||
         (m.root.size() > subvol_root.size() && m.root.rfind(subvol_root, 0) == 0 && m.root[subvol_root.size()] == '/')))
      return std::string("its subvolume is mounted at ").append(m.mount_point);
  }
  return std::nullopt;
}

}  // namespace mos::engine::volumes
