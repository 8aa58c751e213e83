#include "ioctl/flock.hpp"

#include <sys/file.h>

#include <cerrno>

#include "base/error.hpp"

namespace mos::io {

FlockGuard::FlockGuard(const Fd& fd) : fd_(fd.get()) {
  int rc;
  do {
    rc = ::flock(fd_, LOCK_EX);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) throw_sys("flock LOCK_EX", fd.path(), errno);
}

FlockGuard::~FlockGuard() { ::flock(fd_, LOCK_UN); }

}  // namespace mos::io
