#include "ioctl/beneath.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"

namespace mos::io {
namespace {

int open_component(int dirfd, const std::string& name) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, name.c_str(), &how, sizeof how));
}

[[noreturn]] void throw_walk_error(int parent, const std::string& name, const std::string& walked, int err) {
  struct stat st {};
  if (err == ENOTDIR && ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
  if (err == ELOOP || err == EXDEV)
    throw_validation(walked + " is a symlink; mount targets are resolved without following links", walked);
  if (err == ENOTDIR) throw_validation(walked + " exists and is not a directory", walked);
  if (err == ENOENT) throw Error(ErrorCode::not_found, walked + " does not exist", walked);
  throw_sys("openat2", walked, err);
}

}  // namespace

Fd open_dir_no_symlinks(const std::vector<std::string>& components, size_t create_from) {
  Fd current = Fd::open("/", O_PATH | O_DIRECTORY);
  std::string walked;
  for (size_t i = 0; i < components.size(); ++i) {
    const std::string& name = components[i];
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      throw_validation(std::string("path component '").append(name).append("' is not allowed"), walked);
    walked += "/";
    walked += name;
    int fd = open_component(current.get(), name);
    if (fd < 0 && errno == ENOENT && i >= create_from) {
      if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST) throw_sys("mkdir", walked, errno);
      fd = open_component(current.get(), name);
    }
    if (fd < 0) throw_walk_error(current.get(), name, walked, errno);
    current = Fd(fd, walked);
  }
  return current;
}

bool on_pseudo_filesystem(const Fd& dir) {
  struct statfs sf {};
  if (::fstatfs(dir.get(), &sf) != 0) throw_sys("fstatfs", dir.path(), errno);
  switch (static_cast<unsigned long>(sf.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case TRACEFS_MAGIC:
    case SECURITYFS_MAGIC:
    case BPF_FS_MAGIC:
    case EFIVARFS_MAGIC:
    case PSTOREFS_MAGIC:
    case SELINUX_MAGIC:
    case SMACK_MAGIC:
    case BINFMTFS_MAGIC:
    case 0x62656570:  // configfs (not in linux/magic.h)
    case 0x65735543:  // fusectl
    case 0x19800202:  // mqueue
      return true;
    default:
      return false;
  }
}

}  // namespace mos::io
