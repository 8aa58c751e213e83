#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "bench/bench.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/uring.hpp"

namespace mos::bench {

namespace {

// Incompressible-looking bytes, cheap to make (xorshift64), different in every MiB.
void fill_pattern(const io::Fd& fd, uint64_t size) {
  const size_t chunk = 1u << 20;
  io::AlignedBuffer buf(chunk);
  auto* words = reinterpret_cast<uint64_t*>(buf.data());
  for (uint64_t off = 0; off < size; off += chunk) {
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (off + 1);
    for (size_t i = 0; i < chunk / 8; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      words[i] = x;
    }
    fd.pwrite_exact(buf.data(), static_cast<size_t>(std::min<uint64_t>(chunk, size - off)), off);
  }
  fd.fdatasync();
}

}  // namespace

Target::Target(const TargetSpec& spec, const std::string& workdir) : spec_(spec) {
  std::string tmpl = workdir + "/mos-bench-XXXXXX";
  int raw = mkstemp(tmpl.data());
  if (raw < 0) throw_sys("mkstemp", tmpl, errno);
  file_ = tmpl;
  try {
    io::Fd fd(raw, file_);
    if (ftruncate(fd.get(), static_cast<off_t>(spec.size)) < 0) throw_sys("ftruncate", file_, errno);
    if (spec.preallocate && fallocate(fd.get(), 0, 0, static_cast<off_t>(spec.size)) < 0)
      throw_sys("fallocate (is there room in " + workdir + "?)", file_, errno);
    if (spec.fill) {
      io::Fd direct = io::Fd::open(file_, O_WRONLY | O_DIRECT);
      fill_pattern(direct, spec.size);
    }
    loop_ = mos::test::LoopDevice::attach(file_, mos::test::LoopOptions{spec.sector_size, spec.direct_io, false, false});
  } catch (...) {
    unlink(file_.c_str());
    throw;
  }
}

Target::~Target() {
  try {
    loop_.detach();
  } catch (...) {
  }
  unlink(file_.c_str());
}

void Target::refill() const {
  io::Fd direct = io::Fd::open(file_, O_WRONLY | O_DIRECT);
  fill_pattern(direct, spec_.size);
  io::Fd dev_fd = io::Fd::open(dev(), O_RDONLY);
  io::blk_flush_buffers(dev_fd);  // the device cache must not keep what we just overwrote
}

void Target::drop_caches() const {
  io::Fd dev_fd = io::Fd::open(dev(), O_RDONLY);
  io::blk_flush_buffers(dev_fd);
  io::Fd file_fd = io::Fd::open(file_, O_RDONLY);
  posix_fadvise(file_fd.get(), 0, 0, POSIX_FADV_DONTNEED);
}

}  // namespace mos::bench
