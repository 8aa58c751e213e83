#include "engine/format/write.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <vector>

#include "engine/apply_plan.hpp"
#include "engine/bulk.hpp"
#include "base/bytes.hpp"
#include "ioctl/blockdev.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kWriteZeroesUpTo = 4ull << 20;  // larger: the bulk path
constexpr uint64_t kZeroBlock = 4096;               // granularity of "already zero"

struct Range {
  uint64_t offset, length;
};

bool covered_by(const std::vector<Range>& writes, uint64_t at, uint64_t n) {
  return std::any_of(writes.begin(), writes.end(),
                     [&](const Range& w) { return w.offset <= at && at + n <= w.offset + w.length; });
}

std::vector<Range> ranges_of(const std::vector<mos::PlannedWrite>& writes) {
  std::vector<Range> out;
  for (const auto& w : writes) out.push_back({w.offset, w.data.size()});
  return out;
}

// Zeroes what is not zero already in [offset, offset+len) and what `writes` (the same step's)
// do not overwrite whole anyway: blocks the source's windows show as zeros or a write covers
// are skipped (runs of the others are one write each); outside the windows, written. A step
// is flushed as one, so a block zeroed and then overwritten before the flush was never needed.
void zero_small(const io::Fd& fd, uint64_t offset, uint64_t len, fsmake::ProbeSource& src,
                const std::vector<Range>& writes) {
  const uint64_t end = offset + len;
  uint64_t run = offset;  // start of the pending run of blocks to write
  for (uint64_t at = offset; at < end;) {
    const uint64_t n = std::min(kZeroBlock - at % kZeroBlock, end - at);
    bool skip = covered_by(writes, at, n);
    if (!skip) {
      auto bytes = src.window_bytes(at, n);
      skip = bytes.size() == n && all_zero(bytes);
    }
    if (skip) {
      if (run < at) write_zeros(fd, run, at - run);
      run = at + n;
    }
    at += n;
  }
  if (run < end) write_zeros(fd, run, end - run);
}

// Whether the wipe would change nothing the next step does not rewrite anyway: every block of
// it reads as zeros (from the windows, or one small extra read for a btrfs mirror) or is
// overwritten whole by `next`. Then the wipe and its flush can go: a crash leaves what a crash
// inside the wipe could (old bytes where `next` writes), never an old signature beside a new
// one.
bool wipe_is_moot(const mos::PlanStep& wipe, const mos::PlanStep& next, fsmake::ProbeSource& src) {
  if (!wipe.writes.empty()) return false;
  const std::vector<Range> rewritten = ranges_of(next.writes);
  for (const auto& z : wipe.zeroes) {
    if (z.length > kWriteZeroesUpTo) return false;
    for (uint64_t at = z.offset, end = z.offset + z.length; at < end;) {
      const uint64_t n = std::min(kZeroBlock - at % kZeroBlock, end - at);
      if (!covered_by(rewritten, at, n)) {
        auto bytes = src.window_bytes(at, n);
        if (bytes.empty()) bytes = src.get(at, n);  // outside the windows: one block, read
        if (bytes.size() != n || !all_zero(bytes)) return false;
      }
      at += n;
    }
  }
  return true;
}

}  // namespace

void apply_format_plan(const io::Fd& fd, const mos::WritePlan& plan, fsmake::ProbeSource& src) {
  bool bypassed_cache = false;
  const ZeroFn bulk = bulk_zero_fn();
  std::vector<Range> later_writes;  // of the step being applied and those after it in its unit
  const ZeroFn zero = [&](const io::Fd& f, uint64_t offset, uint64_t len) {
    if (len <= kWriteZeroesUpTo) return zero_small(f, offset, len, src, later_writes);
    bypassed_cache = true;
    bulk(f, offset, len);
  };
  // Flush units. Every step before the last (the old-signature wipe and the writer's body) is
  // one unit with one flush, the last step (the writer's commit record: primary superblock,
  // boot sector) another: no writer makes its filesystem valid before its last step, so until
  // then a crash leaves what a crash inside the wipe leaves, a partly wiped device without a
  // new filesystem (as mke2fs and mkfs.btrfs, which flush once before their superblock). A
  // single-step writer (swap: the header is the filesystem) keeps the wipe durable first, so
  // no new header can stand beside an old signature; swap over swap leaves the wipe out, as the
  // old header page is all it would change and the new one replaces it.
  const size_t n = plan.steps.size();
  std::vector<std::pair<size_t, size_t>> units;  // [first, last] step indices
  if (n == 2 && wipe_is_moot(plan.steps[0], plan.steps[1], src)) units = {{1, 1}};
  else if (n >= 2) units = {{0, n - 2}, {n - 1, n - 1}};
  else if (n == 1) units = {{0, 0}};
  for (auto [first, last] : units) {
    // Steps in order without a flush between (so a zero after a write still wins), each zero
    // skipping what a write of its step or a later one in the unit covers whole.
    for (size_t k = first; k <= last; ++k) {
      const mos::PlanStep& step = plan.steps[k];
      later_writes.clear();
      for (size_t j = k; j <= last; ++j)
        for (const auto& w : plan.steps[j].writes) later_writes.push_back({w.offset, w.data.size()});
      for (const auto& z : step.zeroes) zero(fd, z.offset, z.length);
      for (const auto& w : step.writes) fd.pwrite_exact(w.data.data(), w.data.size(), w.offset);
      // One step at a time, so the source shows the device as the earlier steps left it.
      for (const auto& z : step.zeroes) src.zeroed(z.offset, z.length);
      for (const auto& w : step.writes) src.written(w.offset, {w.data.data(), w.data.size()});
    }
    fd.fdatasync();  // the unit's barrier (as apply_plan's per step)
    for (size_t k = first; k <= last; ++k) crash_point(plan.name + ":after-" + plan.steps[k].name);
  }
  // Writes through fd went through the page cache, so it is current; zeroing that went around
  // it (offload, O_DIRECT) must leave no stale page for readers to find.
  if (bypassed_cache) io::blk_flush_buffers(fd);
}

}  // namespace mos::engine
