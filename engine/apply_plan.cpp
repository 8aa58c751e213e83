#include "engine/apply_plan.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <vector>

#include "ioctl/blockdev.hpp"
#include "base/error.hpp"

namespace mos::engine {

void crash_point(const std::string& point) {
  const char* want = std::getenv("MOS_VOLMGR_CRASH_POINT");
  if (!want || point != want) return;
  const char* ab = std::getenv("MOS_VOLMGR_CRASH_ABORT");
  if (ab && std::string(ab) == "1") std::abort();
  throw Error(ErrorCode::storage_failed, "injected crash at " + point, {}, EIO);
}

// [offset, offset+len) as zeros, one pwritev per MiB of a shared 64 KiB zero buffer.
void write_zeros(const io::Fd& fd, uint64_t offset, uint64_t len) {
  static const std::vector<uint8_t> zeros(64 * 1024, 0);
  std::array<iovec, 16> iov;
  iov.fill(iovec{const_cast<uint8_t*>(zeros.data()), zeros.size()});
  while (len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, zeros.size() * iov.size()));
    int count = static_cast<int>((n + zeros.size() - 1) / zeros.size());
    iov[count - 1].iov_len = n - size_t(count - 1) * zeros.size();
    ssize_t done = ::pwritev(fd.get(), iov.data(), count, static_cast<off_t>(offset));
    iov[count - 1].iov_len = zeros.size();
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) throw_sys("write", fd.path(), done < 0 ? errno : EIO);
    offset += static_cast<uint64_t>(done);
    len -= static_cast<uint64_t>(done);
  }
}

void zero_range_simple(const io::Fd& fd, uint64_t offset, uint64_t len) {
  if (len == 0) return;
  if (io::is_block_device(fd)) {
    io::blk_zeroout(fd, offset, len);
    return;
  }
  if (fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset), static_cast<off_t>(len)) == 0)
    return;
  write_zeros(fd, offset, len);
}

void apply_plan(const io::Fd& fd, const mos::WritePlan& plan, const ZeroFn& zero) {
  for (const auto& step : plan.steps) {
    for (const auto& z : step.zeroes) zero(fd, z.offset, z.length);
    for (const auto& w : step.writes) fd.pwrite_exact(w.data.data(), w.data.size(), w.offset);
    // The step's barrier. fdatasync: same as fsync on block devices (data + device cache
    // flush); on image files it skips timestamp-only inode updates.
    fd.fdatasync();
    crash_point(plan.name + ":after-" + step.name);
  }
}

}  // namespace mos::engine
