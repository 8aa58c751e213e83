// Applies a WritePlan to an open device or image file, honouring step order and flushes,
// with named crash points for tests (MOS_VOLMGR_CRASH_POINT).
#pragma once
#include <functional>
#include <string>

#include "ioctl/fd.hpp"
#include "base/write_plan.hpp"

namespace mos::engine {

// Zeroes [offset, offset+len) of fd the fastest way the target allows.
using ZeroFn = std::function<void(const io::Fd&, uint64_t offset, uint64_t len)>;

// Plain writes of zeros over [offset, offset+len) (no BLKZEROOUT, no fallocate).
void write_zeros(const io::Fd& fd, uint64_t offset, uint64_t len);
// Default zeroing: BLKZEROOUT on block devices, fallocate(ZERO_RANGE) or plain writes on files.
void zero_range_simple(const io::Fd& fd, uint64_t offset, uint64_t len);

void apply_plan(const io::Fd& fd, const mos::WritePlan& plan, const ZeroFn& zero = zero_range_simple);

// Crash-point hook. If MOS_VOLMGR_CRASH_POINT equals `point`, stops here: abort() when
// MOS_VOLMGR_CRASH_ABORT=1, otherwise throws an injected storage error.
void crash_point(const std::string& point);

}  // namespace mos::engine
