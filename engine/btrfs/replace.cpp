#include "engine/btrfs/replace.hpp"

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "base/bytes.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/search.hpp"
#include "engine/btrfs/usage.hpp"
#include "engine/safety.hpp"

namespace mos::engine::btrfs {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kCancelPollInterval = std::chrono::milliseconds(10);  // a cancel is sent as soon as it can be
constexpr int kCancelAttempts = 100;  // x kCancelPollInterval: a replace's copy begins well within a second

std::string state_name(uint64_t state) {
  switch (state) {
    case BTRFS_IOCTL_DEV_REPLACE_STATE_NEVER_STARTED: return "never_started";
    case BTRFS_IOCTL_DEV_REPLACE_STATE_STARTED: return "started";
    case BTRFS_IOCTL_DEV_REPLACE_STATE_FINISHED: return "finished";
    case BTRFS_IOCTL_DEV_REPLACE_STATE_CANCELED: return "canceled";
    case BTRFS_IOCTL_DEV_REPLACE_STATE_SUSPENDED: return "suspended";
  }
  return "unknown (" + std::to_string(state) + ")";
}

// The args are larger than 2 KiB (two device names): on the heap, zeroed.
std::unique_ptr<btrfs_ioctl_dev_replace_args> replace_args(uint64_t cmd) {
  auto a = std::make_unique<btrfs_ioctl_dev_replace_args>();
  std::memset(a.get(), 0, sizeof *a);
  a->cmd = cmd;
  return a;
}

// The source devid of a running replace, from its item in the device tree (STATUS does not say);
// 0 when unknown.
uint64_t replace_item_src_devid(const io::Fd& fs) {
  uint64_t devid = 0;
  SearchRange r;
  r.tree_id = BTRFS_DEV_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = 0;
  r.min_type = r.max_type = BTRFS_DEV_REPLACE_KEY;
  r.min_offset = r.max_offset = 0;
  tree_search(fs, r, [&](const SearchItem& it) {
    if (it.len >= sizeof(btrfs_dev_replace_item)) devid = load_le64(it.data + offsetof(btrfs_dev_replace_item, src_devid));
  });
  return devid == UINT64_MAX ? 0 : devid;  // the kernel writes -1 once the source is gone (finished)
}

ReplaceStatus status_of(const io::Fd& fs, const std::string& mount_point) {
  auto a = replace_args(BTRFS_IOCTL_DEV_REPLACE_CMD_STATUS);
  if (ioctl(fs.get(), BTRFS_IOC_DEV_REPLACE, a.get()) < 0) throw_sys("BTRFS_IOC_DEV_REPLACE status", mount_point, errno);
  const auto& st = a->status;
  ReplaceStatus s;
  s.state = state_name(st.replace_state);
  s.progress_permille = std::min<uint64_t>(st.progress_1000, 1000);
  s.time_started = st.time_started;
  s.time_stopped = st.time_stopped;
  s.num_write_errors = st.num_write_errors;
  s.num_uncorrectable_read_errors = st.num_uncorrectable_read_errors;
  if (st.replace_state != BTRFS_IOCTL_DEV_REPLACE_STATE_NEVER_STARTED) s.src_devid = replace_item_src_devid(fs);
  return s;
}

// The path the kernel lists for a running replace's target (devid 0), if one is there.
std::optional<std::string> running_target(const io::Fd& fs) {
  for (auto& d : device_facts(fs))
    if (d.devid == BTRFS_DEV_REPLACE_DEVID) return d.path;
  return std::nullopt;
}

bool same_device(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  auto ca = std::filesystem::weakly_canonical(a, ec1), cb = std::filesystem::weakly_canonical(b, ec2);
  return a == b || (!ec1 && !ec2 && ca == cb);
}

struct Plan {
  uint64_t src_devid = 0;
  bool join = false;  // a replace onto the same target is running: wait for it, start nothing
};

// Everything replace_check_can_start promises, on the judged handle replace_run acts on.
Plan plan_replace(const io::Fd& fs, const ReplaceRequest& req, const Context& ctx) {
  const std::string& mnt = req.mount_point;
  if (req.target.empty() || req.target[0] != '/') throw_validation("target must be an absolute device path", req.target);
  if (req.target.size() > BTRFS_DEVICE_PATH_NAME_MAX)
    throw_validation("target path is longer than " + std::to_string(BTRFS_DEVICE_PATH_NAME_MAX) + " bytes", req.target);
  ctx.policy.require_allowed(req.target);  // the write rules below once we know we start one

  ReplaceStatus now = status_of(fs, mnt);
  if (now.state == "started" || now.state == "suspended") {
    auto target = running_target(fs);
    if (now.state == "suspended")
      throw Error(ErrorCode::storage_failed,
                  "a replace on " + mnt + " is suspended (its target is missing); cancel it before starting another",
                  mnt);
    if (!target || !same_device(*target, req.target))
      throw Error(ErrorCode::storage_failed,
                  "a replace onto " + target.value_or("another device") + " is already running on " + mnt +
                      " (wait for it, or cancel it)",
                  mnt);
    return Plan{0, true};
  }

  ctx.policy.judge(req.target, Access::write);
  Plan plan;
  plan.src_devid = member_devid(fs, req.source, mnt);
  uint64_t source_bytes = 0;
  for (auto& d : device_facts(fs))
    if (d.devid == plan.src_devid) source_bytes = d.total_bytes;
  // Unused and blank, never forced: a replace overwrites the whole target.
  const Device target = require_idle(req.target);
  if (const std::string why = content_refusal(target); !why.empty())
    throw_validation(req.target + " is not blank: " + why + " (a replace target is never forced; wipe it first)",
                     req.target);
  const uint64_t target_bytes = target.size_bytes;
  if (target_bytes < source_bytes)
    throw_validation(req.target + " (" + std::to_string(target_bytes) + " bytes) is smaller than the device it replaces (devid " +
                         std::to_string(plan.src_devid) + ", " + std::to_string(source_bytes) + " bytes)",
                     req.target);
  return plan;
}

struct StartOutcome {
  int ret = 0;
  int err = 0;
  uint64_t result = 0;
};

StartOutcome start_replace(const io::Fd& fs, const ReplaceRequest& req, uint64_t src_devid) {
  auto a = replace_args(BTRFS_IOCTL_DEV_REPLACE_CMD_START);
  // By devid, the member we judged and sized; a path would be resolved again by the kernel.
  a->start.srcdevid = src_devid;
  a->start.cont_reading_from_srcdev_mode = req.source_failing ? BTRFS_IOCTL_DEV_REPLACE_CONT_READING_FROM_SRCDEV_MODE_AVOID
                                                              : BTRFS_IOCTL_DEV_REPLACE_CONT_READING_FROM_SRCDEV_MODE_ALWAYS;
  std::memcpy(a->start.tgtdev_name, req.target.data(), req.target.size());
  StartOutcome o;
  o.ret = ioctl(fs.get(), BTRFS_IOC_DEV_REPLACE, a.get());
  o.err = errno;
  o.result = a->result;
  return o;
}

// START refused because a replace (or another exclusive operation) already runs: joinable when
// it is a replace onto the same target (running_onto).
bool start_joinable(const StartOutcome& o) {
  return o.ret == BTRFS_IOCTL_DEV_REPLACE_RESULT_ALREADY_STARTED || o.ret == BTRFS_ERROR_DEV_EXCL_RUN_IN_PROGRESS;
}

// A failed START as a clear error.
void throw_start_failure(const StartOutcome& o, const ReplaceRequest& req) {
  const std::string& mnt = req.mount_point;
  if (o.ret == 0 && o.result == BTRFS_IOCTL_DEV_REPLACE_RESULT_SCRUB_INPROGRESS)
    throw Error(ErrorCode::storage_failed, "a scrub is running on " + mnt + "; cancel it before replacing a device", mnt);
  if (o.ret == 0 && o.result == BTRFS_IOCTL_DEV_REPLACE_RESULT_NOT_STARTED)
    throw Error(ErrorCode::storage_failed, "the kernel did not start the replace on " + mnt, mnt);
  if (o.ret == 0 && o.result != BTRFS_IOCTL_DEV_REPLACE_RESULT_NO_ERROR)
    throw Error(ErrorCode::storage_failed, "the replace on " + mnt + " ended with result " + std::to_string(o.result), mnt);
  if (o.ret < 0 && o.err == EROFS)
    throw Error(ErrorCode::storage_failed, mnt + " is mounted read-only; a replace needs it read-write", mnt, o.err);
  if (o.ret < 0 && o.err == EINVAL)
    throw Error(ErrorCode::storage_failed,
                "the kernel refused replacing onto " + req.target + " (smaller than the source, or not usable)", mnt,
                o.err);
  errno = o.err;
  check_btrfs_ioctl(o.ret, "BTRFS_IOC_DEV_REPLACE start " + req.target, mnt);
}

// True once the kernel took the cancel. A replace whose copy (scrub) has not begun yet answers
// NOT_STARTED although its state reads "started": the caller asks again.
bool request_cancel(const io::Fd& fs, const std::string& mount_point) {
  auto a = replace_args(BTRFS_IOCTL_DEV_REPLACE_CMD_CANCEL);
  if (ioctl(fs.get(), BTRFS_IOC_DEV_REPLACE, a.get()) < 0) throw_sys("BTRFS_IOC_DEV_REPLACE cancel", mount_point, errno);
  return a->result != BTRFS_IOCTL_DEV_REPLACE_RESULT_NOT_STARTED;
}

// Polls STATUS while the kernel's replace reads "started", reporting progress and sending a
// requested cancel (again while the kernel answers NOT_STARTED); returns the status it ended in.
ReplaceStatus wait_while_started(const io::Fd& fs, const std::string& mount_point, const ProgressFn& progress,
                                 CancelFlag cancel, const std::atomic<bool>* start_returned = nullptr) {
  bool cancel_sent = false;
  for (;;) {
    ReplaceStatus s = status_of(fs, mount_point);
    if (progress) progress(s.progress_permille, 1000);
    // Our own START: until it returned (the state reads "never_started" until the kernel began).
    if (start_returned ? start_returned->load() : s.state != "started") return s;
    const bool cancel_pending = cancel && *cancel && !cancel_sent;
    if (cancel_pending && s.state == "started") cancel_sent = request_cancel(fs, mount_point);
    std::this_thread::sleep_for(cancel_pending ? kCancelPollInterval : kPollInterval);
  }
}

// START blocks in the kernel until the copy ends: it runs on a thread of its own while this one
// polls. The thread is joined in every outcome (a status poll that throws waits for it too).
StartOutcome run_start_polling(const io::Fd& fs, const ReplaceRequest& req, uint64_t src_devid,
                               const ProgressFn& progress, CancelFlag cancel) {
  std::atomic<bool> returned{false};
  StartOutcome started;
  std::thread worker([&] {
    started = start_replace(fs, req, src_devid);
    returned = true;
  });
  try {
    wait_while_started(fs, req.mount_point, progress, cancel, &returned);
  } catch (...) {
    worker.join();
    throw;
  }
  worker.join();
  return started;
}

// Whether the replace now running is onto req.target.
bool running_onto(const io::Fd& fs, const ReplaceRequest& req) {
  auto target = running_target(fs);
  return status_of(fs, req.mount_point).state == "started" && target && same_device(*target, req.target);
}

}  // namespace

std::vector<MemberInfo> members_of(const std::string& mount_point, const Context& ctx) {
  std::vector<MemberInfo> out;
  for (auto& d : device_facts(open_judged_btrfs(mount_point, ctx))) {
    if (d.devid == BTRFS_DEV_REPLACE_DEVID) continue;  // a running replace's target, not a member yet
    out.push_back({d.devid, d.path, d.path.empty(), d.total_bytes, d.bytes_used});
  }
  return out;
}

void replace_check_can_start(const ReplaceRequest& req, const Context& ctx) {
  plan_replace(open_judged_btrfs(req.mount_point, ctx), req, ctx);
}

ReplaceStatus replace_run(const ReplaceRequest& req, const Context& ctx, const ProgressFn& progress, CancelFlag cancel) {
  // Judged on the handle the replace runs on: a queued job is judged again when it starts.
  const io::Fd fs = open_judged_btrfs(req.mount_point, ctx);
  const Plan plan = plan_replace(fs, req, ctx);
  if (!plan.join) {
    const StartOutcome started = run_start_polling(fs, req, plan.src_devid, progress, cancel);
    const bool ours_ended = (started.ret == 0 && started.result == BTRFS_IOCTL_DEV_REPLACE_RESULT_NO_ERROR) ||
                            (started.ret < 0 && started.err == ECANCELED);
    // Another START won the race onto the same target: wait for that one; anything else failed.
    if (!ours_ended && !(start_joinable(started) && running_onto(fs, req))) throw_start_failure(started, req);
  }
  ReplaceStatus s = wait_while_started(fs, req.mount_point, progress, cancel);
  if (s.src_devid == 0) s.src_devid = plan.src_devid;
  if (progress && s.state == "finished") progress(1000, 1000);
  return s;
}

ReplaceStatus replace_status(const std::string& mount_point, const Context& ctx) {
  return status_of(open_judged_btrfs(mount_point, ctx), mount_point);
}

ReplaceStatus replace_cancel(const std::string& mount_point, const Context& ctx) {
  const io::Fd fs = open_judged_btrfs(mount_point, ctx);
  for (int attempt = 0; attempt < kCancelAttempts; ++attempt) {
    if (request_cancel(fs, mount_point)) return status_of(fs, mount_point);
    if (status_of(fs, mount_point).state != "started") break;  // its copy not begun yet: again
    std::this_thread::sleep_for(kCancelPollInterval);
  }
  throw Error(ErrorCode::not_found, "no replace is running on " + mount_point, mount_point);
}

std::map<std::string, std::set<std::string>> chunk_profiles(const std::string& mount_point, const Context& ctx) {
  return chunk_profiles(open_judged_btrfs(mount_point, ctx));
}

}  // namespace mos::engine::btrfs
