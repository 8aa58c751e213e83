#include "engine/apply_plan.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "ioctl/blockdev.hpp"
#include "ioctl/error.hpp"

namespace mos::engine {

void crash_point(const std::string& point) {
  const char* want = std::getenv("MOS_VOLMGR_CRASH_POINT");
  if (!want || point != want) return;
  const char* ab = std::getenv("MOS_VOLMGR_CRASH_ABORT");
  if (ab && std::string(ab) == "1") std::abort();
  throw Error(ErrorCode::storage_failed, "injected crash at " + point, {}, EIO);
}

void zero_range_simple(const io::Fd& fd, uint64_t offset, uint64_t len) {
  if (len == 0) return;
  if (io::is_block_device(fd)) {
    io::blk_zeroout(fd, offset, len);
    return;
  }
  if (fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, static_cast<off_t>(offset), static_cast<off_t>(len)) == 0)
    return;
  std::vector<uint8_t> zeros(1 << 20, 0);
  while (len) {
    size_t n = len < zeros.size() ? static_cast<size_t>(len) : zeros.size();
    fd.pwrite_exact(zeros.data(), n, offset);
    offset += n;
    len -= n;
  }
}

void apply_plan(const io::Fd& fd, const io::WritePlan& plan, const ZeroFn& zero) {
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
