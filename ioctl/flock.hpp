// flock(2) held for a scope: LOCK_EX on a whole-disk node is the udev convention that makes
// udevd skip probing the disk while we rewrite its partition table.
#pragma once
#include "ioctl/fd.hpp"

namespace mos::io {

class FlockGuard {
 public:
  // Blocks until the exclusive lock is granted (retries EINTR); throws on other errors.
  explicit FlockGuard(const Fd& fd);
  ~FlockGuard();
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;

 private:
  int fd_;
};

}  // namespace mos::io
