#include "ioctl/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "ioctl/error.hpp"

namespace mos::io {
namespace {

int openat2_dir(int dirfd, const std::string& name) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how));
}

}  // namespace

Fd open_dir_beneath(const Fd& dir, const std::string& relative, bool create) {
  int cur = ::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0);
  if (cur < 0) throw_sys("dup", dir.path(), errno);
  Fd current(cur, dir.path());
  std::string walked = dir.path();
  size_t start = 0;
  while (start < relative.size()) {
    size_t slash = relative.find('/', start);
    std::string name = relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    start = slash == std::string::npos ? relative.size() : slash + 1;
    if (name.empty()) continue;
    if (name == "." || name == "..") throw_validation(walked + "/" + name + ": '.' and '..' are not allowed", walked);
    walked += "/" + name;
    int fd = openat2_dir(current.get(), name);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir", walked, errno);
      fd = openat2_dir(current.get(), name);
    }
    if (fd < 0) {
      struct stat st {};
      if (errno == ENOTDIR && ::fstatat(current.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        errno = ELOOP;
      if (errno == ELOOP) throw_validation(walked + " is a symlink; mount targets are resolved without following links", walked);
      if (errno == ENOTDIR) throw_validation(walked + " is not a directory", walked);
      if (errno == ENOENT) throw Error(ErrorCode::not_found, walked + " does not exist", walked);
      throw_sys("openat2", walked, errno);
    }
    current = Fd(fd, walked);
  }
  return current;
}

std::string fd_path(const Fd& fd) { return "/proc/self/fd/" + std::to_string(fd.get()); }

}  // namespace mos::io
