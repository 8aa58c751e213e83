#include "engine/btrfs/balance.hpp"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "engine/btrfs/usage.hpp"
#include "base/error.hpp"

namespace mos::engine::btrfs {

namespace {

struct Profile {
  const char* name;
  uint64_t min_devices;
};

Profile profile_rule(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const Profile kRules[] = {{"single", 1}, {"dup", 1},     {"raid0", 1},   {"raid1", 2},
                                   {"raid10", 2}, {"raid1c3", 3}, {"raid1c4", 4}, {"raid5", 2},
                                   {"raid6", 3}};
  for (auto& r : kRules)
    if (lower == r.name) return r;
  throw_validation("unknown profile '" + name +
                   "'; use one of single, dup, raid0, raid1, raid10, raid1c3, raid1c4, raid5, raid6");
}

// Live balance state; nullopt when none is running or paused.
std::optional<BalanceStatus> live_balance(const io::Fd& fs, const std::string& mount_point) {
  btrfs_ioctl_balance_args a{};
  if (ioctl(fs.get(), BTRFS_IOC_BALANCE_PROGRESS, &a) < 0) {
    if (errno == ENOTCONN) return std::nullopt;
    throw_sys("BTRFS_IOC_BALANCE_PROGRESS", mount_point, errno);
  }
  BalanceStatus s;
  s.mount_point = mount_point;
  s.state = (a.state & BTRFS_BALANCE_STATE_CANCEL_REQ) ? "cancel_requested"
          : (a.state & BTRFS_BALANCE_STATE_PAUSE_REQ)  ? "pause_requested"
          : (a.state & BTRFS_BALANCE_STATE_RUNNING)    ? "running"
                                                       : "paused";
  s.expected_chunks = a.stat.expected;
  s.considered_chunks = a.stat.considered;
  s.completed_chunks = a.stat.completed;
  if (a.data.flags & BTRFS_BALANCE_ARGS_CONVERT) {
    uint64_t t = a.data.target;
    s.convert = (t & BTRFS_AVAIL_ALLOC_BIT_SINGLE) ? "single" : group_profile_name(t);
  }
  return s;
}

}  // namespace

namespace {

void check_can_start(const io::Fd& fs, const BalanceRequest& req) {
  if (req.soft && !req.convert) throw_validation("soft needs convert (it skips chunks already in the target profile)");
  if (req.convert) {
    Profile p = profile_rule(*req.convert);
    uint64_t devices = fs_facts(fs).num_devices;
    if (devices < p.min_devices)
      throw_validation("profile " + std::string(p.name) + " needs at least " + std::to_string(p.min_devices) +
                           " devices; " + req.mount_point + " has " + std::to_string(devices),
                       req.mount_point);
  }
  if (auto live = live_balance(fs, req.mount_point))
    throw Error(ErrorCode::storage_failed,
                "a balance is already " + live->state + " on " + req.mount_point +
                    " (see balance-status, or balance-cancel it)",
                req.mount_point);
}

}  // namespace

void balance_check_can_start(const BalanceRequest& req, const Context& ctx) {
  check_can_start(open_judged_btrfs(req.mount_point, ctx), req);
}

BalanceStatus balance_run(const BalanceRequest& req, const Context& ctx, const ProgressFn& progress,
                          CancelFlag cancel) {
  // Judged on the handle the balance runs on: a queued job is judged again when it starts.
  io::Fd fs = open_judged_btrfs(req.mount_point, ctx);
  check_can_start(fs, req);

  btrfs_ioctl_balance_args args{};
  args.flags = BTRFS_BALANCE_TYPE_MASK;
  if (req.force) args.flags |= BTRFS_BALANCE_FORCE;
  if (req.convert) {
    uint64_t target = *profile_flag(profile_rule(*req.convert).name);
    // The system chunks get the metadata's arguments, as `btrfs balance start -mconvert=...` sends
    // them (so no force is needed for them).
    for (btrfs_balance_args* b : {&args.data, &args.meta, &args.sys}) {
      b->flags = BTRFS_BALANCE_ARGS_CONVERT | (req.soft ? BTRFS_BALANCE_ARGS_SOFT : 0);
      b->target = target;
    }
  }

  int ret = 0, err = 0;
  std::atomic<bool> finished{false};
  std::thread worker([&] {
    ret = ioctl(fs.get(), BTRFS_IOC_BALANCE_V2, &args);
    err = errno;
    finished = true;
  });
  std::thread canceller;  // BALANCE_CTL cancel blocks until the balance stops
  while (!finished) {
    if (auto live = live_balance(fs, req.mount_point); live && progress)
      progress(live->completed_chunks, live->expected_chunks);
    if (cancel && *cancel && !canceller.joinable())
      canceller = std::thread([fd = fs.get()] { ioctl(fd, BTRFS_IOC_BALANCE_CTL, BTRFS_BALANCE_CTL_CANCEL); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  worker.join();
  if (canceller.joinable()) canceller.join();

  BalanceStatus s;
  s.mount_point = req.mount_point;
  s.expected_chunks = args.stat.expected;
  s.considered_chunks = args.stat.considered;
  s.completed_chunks = args.stat.completed;
  if (req.convert) s.convert = profile_rule(*req.convert).name;
  if (ret < 0 && err == ECANCELED) {
    s.state = "cancelled";
    return s;
  }
  if (ret < 0 && err == EINVAL && req.convert)
    throw Error(ErrorCode::storage_failed,
                "the kernel refused converting " + req.mount_point + " to " + *req.convert +
                    " (lowering metadata redundancy needs force)",
                req.mount_point, err);
  errno = err;
  check_btrfs_ioctl(ret, "BTRFS_IOC_BALANCE_V2", req.mount_point);
  s.state = "finished";
  if (progress) progress(s.completed_chunks, s.expected_chunks);
  return s;
}

namespace {

BalanceStatus status_of(const io::Fd& fs, const std::string& mount_point) {
  if (auto live = live_balance(fs, mount_point)) return *live;
  BalanceStatus s;
  s.mount_point = mount_point;
  return s;
}

BalanceStatus cancel_running_balance(const io::Fd& fs, const std::string& mount_point) {
  auto before = live_balance(fs, mount_point);
  if (!before) throw Error(ErrorCode::not_found, "no balance is running on " + mount_point, mount_point);
  // BALANCE_CTL cancel blocks until the balance stopped.
  if (ioctl(fs.get(), BTRFS_IOC_BALANCE_CTL, BTRFS_BALANCE_CTL_CANCEL) < 0) {
    if (errno == ENOTCONN) throw Error(ErrorCode::not_found, "no balance is running on " + mount_point, mount_point);
    throw_sys("BTRFS_IOC_BALANCE_CTL cancel", mount_point, errno);
  }
  before->state = "cancelled";
  return *before;
}

}  // namespace

BalanceStatus balance_status(const std::string& mount_point, const Context& ctx) {
  return status_of(open_judged_btrfs(mount_point, ctx), mount_point);
}

BalanceStatus balance_cancel(const std::string& mount_point, const Context& ctx, const QueuedCancel& cancel_queued) {
  const io::Fd fs = open_judged_btrfs(mount_point, ctx);
  const size_t queued = cancel_queued ? cancel_queued() : 0;
  try {
    return cancel_running_balance(fs, mount_point);
  } catch (const Error& e) {  // only queued ones, never started in the kernel
    if (e.code() != ErrorCode::not_found || queued == 0) throw;
    return status_of(fs, mount_point);
  }
}

}  // namespace mos::engine::btrfs
