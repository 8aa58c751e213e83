#include "tests/support/loop.hpp"

#include <fcntl.h>

#include "ioctl/fd.hpp"

namespace mos::test {

using namespace mos::io;

LoopDevice& LoopDevice::operator=(LoopDevice&& o) noexcept {
  if (this != &o) {
    try { if (!path_.empty()) loop_detach(path_); } catch (...) {}
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

LoopDevice::~LoopDevice() {
  if (path_.empty()) return;
  try { loop_detach(path_); } catch (...) {}
}

void LoopDevice::detach() {
  if (path_.empty()) return;
  std::string p = std::move(path_);
  path_.clear();
  loop_detach(p);
}

LoopDevice LoopDevice::attach(const std::string& backing_file, const LoopOptions& opts) {
  Fd backing = Fd::open(backing_file, (opts.read_only ? O_RDONLY : O_RDWR));
  return LoopDevice(io::loop_attach(backing, backing_file, opts));
}

}  // namespace mos::test
