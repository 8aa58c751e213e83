// Replacing a member of a mounted btrfs (BTRFS_IOC_DEV_REPLACE start/status/cancel): a missing
// device by its devid, or a present one (failing: read from it only when no other copy exists).
// The kernel copies in the background; replace_run polls STATUS and joins a replace already
// running (after a daemon restart, or resumed by the kernel on mount) instead of restarting it.
// Also the members the kernel lists, missing ones included, and the chunk profiles in use.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct ReplaceRequest {
  std::string mount_point;  // a mounted btrfs (may be mounted degraded)
  std::string source;       // devid in decimal, or a present member's path
  std::string target;       // the new block device (must be allowed by ctx.policy, blank, not held)
  bool source_failing = false;  // read from the source only when no other copy is readable ("avoid")
};

struct ReplaceStatus {
  std::string state;  // "never_started" | "started" | "finished" | "canceled" | "suspended"
  uint64_t progress_permille = 0;
  uint64_t src_devid = 0;
  uint64_t time_started = 0, time_stopped = 0;  // seconds since the epoch, 0 = not yet
  uint64_t num_write_errors = 0, num_uncorrectable_read_errors = 0;
};

struct MemberInfo {
  uint64_t devid = 0;
  std::string path;  // empty when missing
  bool missing = false;
  uint64_t total_bytes = 0;
  uint64_t bytes_used = 0;
};

// Every device the kernel counts as a member, missing ones included, ordered by devid. Judged:
// ctx.policy allows every present member.
std::vector<MemberInfo> members_of(const std::string& mount_point, const Context& ctx);
// Throws and changes nothing unless the replace could start: members and target allowed, the
// target blank and unused (never forced) and at least as big as the source, the source a member,
// no other replace running. A replace already running for the same target passes (it is joined).
void replace_check_can_start(const ReplaceRequest& req, const Context& ctx);
// Starts (or joins) the replace and waits for its end; progress in permille (done, 1000).
// Cancel requests BTRFS_IOCTL_DEV_REPLACE_CMD_CANCEL and returns the "canceled" status.
ReplaceStatus replace_run(const ReplaceRequest& req, const Context& ctx, const ProgressFn& progress,
                          CancelFlag cancel);
ReplaceStatus replace_status(const std::string& mount_point, const Context& ctx);
// Cancels the running replace; -32002 when none runs.
ReplaceStatus replace_cancel(const std::string& mount_point, const Context& ctx);
// Profiles of the chunks now on the filesystem, per block-group type ("data", "metadata",
// "system"), as lower-case profile names ("single", "dup", "raid1", ...).
std::map<std::string, std::set<std::string>> chunk_profiles(const std::string& mount_point, const Context& ctx);

}  // namespace mos::engine::btrfs
