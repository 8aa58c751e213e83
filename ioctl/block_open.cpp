#include "ioctl/block_open.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"

namespace mos::io {
namespace {

int open_retrying(const char* path, int flags) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// A symlink (/dev/disk/by-id/..., /dev/md/name) is followed only to a node under /dev.
bool resolve_link_into_dev(const std::string& path, std::string& target) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return false;
  target = buf;
  return target.rfind("/dev/", 0) == 0;
}

// What a path is, for the refusal message (lstat only: nothing is opened).
std::string kind_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "not a block device";
  if (S_ISLNK(st.st_mode)) return "a symbolic link that leads to no block device under /dev";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISREG(st.st_mode)) return "a regular file";
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "not a block device";
}

}  // namespace

int open_block_fd(const std::string& path, int flags) {
  int handle = open_retrying(path.c_str(), O_PATH | O_NOFOLLOW);
  if (handle < 0) return -1;
  struct stat st {};
  if (::fstat(handle, &st) == 0 && S_ISLNK(st.st_mode)) {
    ::close(handle);
    std::string target;
    if (!resolve_link_into_dev(path, target)) {
      errno = ENOTBLK;
      return -1;
    }
    handle = open_retrying(target.c_str(), O_PATH | O_NOFOLLOW);
    if (handle < 0) return -1;
  }
  if (::fstat(handle, &st) != 0 || !S_ISBLK(st.st_mode)) {
    ::close(handle);
    errno = ENOTBLK;
    return -1;
  }
  const std::string same_inode = "/proc/self/fd/" + std::to_string(handle);
  const int fd = open_retrying(same_inode.c_str(), flags);
  const int err = errno;
  ::close(handle);
  errno = err;
  return fd;
}

Fd open_block(const std::string& path, int flags) {
  const int fd = open_block_fd(path, flags);
  if (fd >= 0) return Fd(fd, path);
  const int err = errno;
  if (err == ENOTBLK)
    throw Error(ErrorCode::validation,
                path + " is " + kind_of(path) + ", not a block device; only block devices are opened", path, err);
  if (err == ENOENT) throw Error(ErrorCode::not_found, path + " does not exist", path, err);
  throw_sys("open", path, err);
}

}  // namespace mos::io
