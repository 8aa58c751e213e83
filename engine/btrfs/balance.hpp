// Balance of a mounted btrfs (BTRFS_IOC_BALANCE_V2), optionally converting data and metadata
// to another profile; progress from BALANCE_PROGRESS, cancel through BALANCE_CTL.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct BalanceRequest {
  std::string mount_point;
  std::optional<std::string> convert;  // profile for data and metadata: single, dup, raid1, ...
  bool force = false;                  // needed to lower metadata redundancy (e.g. raid1 -> single)
  // With convert: rewrite only the chunks not already in the target profile (BTRFS_BALANCE_ARGS_SOFT),
  // e.g. the single chunks written while a raid1 ran degraded.
  bool soft = false;
};

struct BalanceStatus {
  std::string mount_point;
  // "running", "pause_requested", "cancel_requested", "paused", "idle", "finished", "cancelled"
  std::string state = "idle";
  uint64_t expected_chunks = 0;
  uint64_t considered_chunks = 0;
  uint64_t completed_chunks = 0;
  std::optional<std::string> convert;
};

// Validates the request against the policy (ctx.policy allows every member) and the filesystem
// (profile known, enough devices, nothing running); throws and changes nothing otherwise.
void balance_check_can_start(const BalanceRequest& req, const Context& ctx);
// Runs the balance to its end (or cancellation); progress in chunks. Checks as
// balance_check_can_start first.
BalanceStatus balance_run(const BalanceRequest& req, const Context& ctx, const ProgressFn& progress,
                          CancelFlag cancel);
// Judged on the handle it reads through (open_judged_btrfs): every member allowed.
BalanceStatus balance_status(const std::string& mount_point, const Context& ctx);
// Cancels the queued balances (cancel_queued, first: none may start meanwhile), then requests
// cancellation of the running one and waits until it stopped. With none running but some queued:
// the status as it is; with neither: -32002. Judged first: ctx.policy must allow every member.
BalanceStatus balance_cancel(const std::string& mount_point, const Context& ctx,
                             const QueuedCancel& cancel_queued = {});

}  // namespace mos::engine::btrfs
