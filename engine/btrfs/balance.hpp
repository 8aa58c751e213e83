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

// Validates the request against the filesystem (profile known, enough devices, nothing
// running); throws and changes nothing otherwise.
void balance_check_can_start(const BalanceRequest& req);
// Runs the balance to its end (or cancellation); progress in chunks.
BalanceStatus balance_run(const BalanceRequest& req, const ProgressFn& progress, CancelFlag cancel);
BalanceStatus balance_status(const std::string& mount_point);
// Requests cancellation of a running balance (-32002 if none) and waits until it stopped.
BalanceStatus balance_cancel(const std::string& mount_point);

}  // namespace mos::engine::btrfs
