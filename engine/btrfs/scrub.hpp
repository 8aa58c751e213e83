// Scrub of a mounted btrfs: BTRFS_IOC_SCRUB on every device, each in its own thread, progress
// from BTRFS_IOC_SCRUB_PROGRESS, cancel with BTRFS_IOC_SCRUB_CANCEL. The kernel keeps no
// result after a scrub ends, so the last result per filesystem is kept in this process.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct ScrubCounters {
  uint64_t data_extents_scrubbed = 0;
  uint64_t tree_extents_scrubbed = 0;
  uint64_t data_bytes_scrubbed = 0;
  uint64_t tree_bytes_scrubbed = 0;
  uint64_t read_errors = 0;
  uint64_t csum_errors = 0;
  uint64_t verify_errors = 0;
  uint64_t no_csum = 0;
  uint64_t csum_discards = 0;
  uint64_t super_errors = 0;
  uint64_t malloc_errors = 0;
  uint64_t uncorrectable_errors = 0;
  uint64_t corrected_errors = 0;
  uint64_t unverified_errors = 0;
  uint64_t last_physical = 0;
  void add(const ScrubCounters& o);
};

struct ScrubDevice {
  uint64_t devid = 0;
  std::string path;
  std::string state;  // "running", "finished", "cancelled", "failed"
  std::optional<std::string> error;
  ScrubCounters counters;
};

struct ScrubReport {
  std::string fsid;
  std::string mount_point;
  // "running", "finished", "cancelled", "failed", or "none" (no scrub known to this process)
  std::string state = "none";
  std::optional<int64_t> started_unix;
  std::optional<int64_t> finished_unix;
  uint64_t bytes_to_scrub = 0;  // raw used bytes: what a full scrub reads
  ScrubCounters totals;
  uint64_t error_count = 0;  // read + csum + verify + super errors
  std::vector<ScrubDevice> devices;
};

// Refuses (nothing started) unless ctx.policy allows every member and mount_point is a mounted
// btrfs with no scrub running.
void scrub_check_can_start(const std::string& mount_point, const Context& ctx);
// Scrubs every device and returns when all are done or cancelled; progress in bytes. Checks as
// scrub_check_can_start first.
ScrubReport scrub_run(const std::string& mount_point, bool read_only, const Context& ctx,
                      const ProgressFn& progress, CancelFlag cancel);
// The same on a handle open_judged_btrfs returned for the mount point (its path() names it).
ScrubReport scrub_run(const io::Fd& judged, bool read_only, const ProgressFn& progress, CancelFlag cancel);
// Live counters while running, else the last result this process saw, else state "none".
ScrubReport scrub_status(const std::string& mount_point, const Context& ctx);
// The same through a handle open_judged_btrfs returned for mount_point.
ScrubReport scrub_status(const io::Fd& judged);
// Cancels the running scrub and returns the status just before; then the queued ones
// (cancel_queued). With none running but some queued: the status as it is; with neither: -32002.
// Judged first: ctx.policy must allow every member.
ScrubReport scrub_cancel(const std::string& mount_point, const Context& ctx,
                         const QueuedCancel& cancel_queued = {});

}  // namespace mos::engine::btrfs
