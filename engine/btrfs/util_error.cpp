#include "engine/btrfs/util_error.hpp"

#include <cerrno>
#include <cstring>

#include "base/error.hpp"

namespace mos::engine::btrfs {

void throw_util(btrfs_util_error err, const std::string& what, const std::string& path) {
  int e = errno;
  std::string msg = what + " " + path + ": " + btrfs_util_strerror(err);
  if (e) msg += std::string(" (") + std::strerror(e) + ")";
  if (err == BTRFS_UTIL_ERROR_SUBVOLUME_NOT_FOUND || e == ENOENT) throw Error(ErrorCode::not_found, msg, path, e);
  if (e == EEXIST) throw Error(ErrorCode::validation, msg, path, e);
  throw Error(ErrorCode::storage_failed, msg, path, e);
}

}  // namespace mos::engine::btrfs
