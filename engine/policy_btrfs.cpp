// Policy::judge_btrfs_path: btrfs methods name a filesystem by a path on it, the policy names
// devices; the filesystem is allowed only when every member is (engine/context.hpp).
#include <sys/stat.h>

#include <filesystem>

#include "engine/btrfs/fs.hpp"
#include "engine/context.hpp"

namespace mos::engine {

void Policy::judge_btrfs_path(const std::string& path, Access access) const {
  struct stat st {};
  const bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  // A file is judged by its directory (only directories are opened for the ioctls).
  io::Fd fs = btrfs::open_btrfs_path(is_dir ? path : std::filesystem::path(path).parent_path().string());
  for (const auto& d : btrfs::device_facts(fs))
    if (!d.path.empty()) judge(d.path, access);
}

}  // namespace mos::engine
