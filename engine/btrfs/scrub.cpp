#include "engine/btrfs/scrub.hpp"

#include <linux/btrfs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

#include "engine/btrfs/usage.hpp"
#include "base/error.hpp"

namespace mos::engine::btrfs {

namespace {

std::mutex g_last_mutex;
std::map<std::string, ScrubReport> g_last;  // by fsid

ScrubCounters from_kernel(const btrfs_scrub_progress& p) {
  ScrubCounters c;
  c.data_extents_scrubbed = p.data_extents_scrubbed;
  c.tree_extents_scrubbed = p.tree_extents_scrubbed;
  c.data_bytes_scrubbed = p.data_bytes_scrubbed;
  c.tree_bytes_scrubbed = p.tree_bytes_scrubbed;
  c.read_errors = p.read_errors;
  c.csum_errors = p.csum_errors;
  c.verify_errors = p.verify_errors;
  c.no_csum = p.no_csum;
  c.csum_discards = p.csum_discards;
  c.super_errors = p.super_errors;
  c.malloc_errors = p.malloc_errors;
  c.uncorrectable_errors = p.uncorrectable_errors;
  c.corrected_errors = p.corrected_errors;
  c.unverified_errors = p.unverified_errors;
  c.last_physical = p.last_physical;
  return c;
}

// Live progress of one device; nullopt when no scrub runs on it.
std::optional<ScrubCounters> live_progress(const io::Fd& fs, uint64_t devid) {
  btrfs_ioctl_scrub_args a{};
  a.devid = devid;
  if (ioctl(fs.get(), BTRFS_IOC_SCRUB_PROGRESS, &a) < 0) {
    if (errno == ENOTCONN || errno == ENODEV) return std::nullopt;
    throw_sys("BTRFS_IOC_SCRUB_PROGRESS", fs.path(), errno);
  }
  return from_kernel(a.progress);
}

void finish_totals(ScrubReport& r) {
  r.totals = {};
  for (auto& d : r.devices) r.totals.add(d.counters);
  r.error_count = r.totals.read_errors + r.totals.csum_errors + r.totals.verify_errors + r.totals.super_errors;
}

}  // namespace

void ScrubCounters::add(const ScrubCounters& o) {
  data_extents_scrubbed += o.data_extents_scrubbed;
  tree_extents_scrubbed += o.tree_extents_scrubbed;
  data_bytes_scrubbed += o.data_bytes_scrubbed;
  tree_bytes_scrubbed += o.tree_bytes_scrubbed;
  read_errors += o.read_errors;
  csum_errors += o.csum_errors;
  verify_errors += o.verify_errors;
  no_csum += o.no_csum;
  csum_discards += o.csum_discards;
  super_errors += o.super_errors;
  malloc_errors += o.malloc_errors;
  uncorrectable_errors += o.uncorrectable_errors;
  corrected_errors += o.corrected_errors;
  unverified_errors += o.unverified_errors;
  last_physical = std::max(last_physical, o.last_physical);
}

namespace {

void refuse_running_scrub(const io::Fd& fs, const std::string& mount_point) {
  for (auto& d : device_facts(fs))
    if (live_progress(fs, d.devid))
      throw Error(ErrorCode::storage_failed,
                  "a scrub is already running on " + mount_point + " (see scrub-status, or scrub-cancel it)",
                  mount_point);
}

ScrubReport scrub_status_of(const io::Fd& fs, const std::string& mount_point);

}  // namespace

void scrub_check_can_start(const std::string& mount_point, const Context& ctx) {
  refuse_running_scrub(open_judged_btrfs(mount_point, ctx), mount_point);
}

ScrubReport scrub_run(const std::string& mount_point, bool read_only, const Context& ctx,
                      const ProgressFn& progress, CancelFlag cancel) {
  // Judged on the handle the scrub runs on: a queued job is judged again when it starts.
  return scrub_run(open_judged_btrfs(mount_point, ctx), read_only, progress, cancel);
}

ScrubReport scrub_run(const io::Fd& fs, bool read_only, const ProgressFn& progress, CancelFlag cancel) {
  const std::string& mount_point = fs.path();
  refuse_running_scrub(fs, mount_point);
  ScrubReport r;
  r.fsid = fs_facts(fs).fsid;
  r.mount_point = mount_point;
  r.state = "running";
  r.started_unix = std::time(nullptr);
  r.bytes_to_scrub = raw_used_bytes(space_info(fs));
  for (auto& d : device_facts(fs)) r.devices.push_back({d.devid, d.path, "running", std::nullopt, {}});
  {
    std::lock_guard lock(g_last_mutex);
    g_last[r.fsid] = r;
  }

  std::vector<std::thread> threads;
  std::vector<btrfs_ioctl_scrub_args> args(r.devices.size());
  std::vector<int> errs(r.devices.size(), 0);
  std::vector<std::atomic<bool>> done(r.devices.size());
  for (size_t i = 0; i < r.devices.size(); ++i) {
    std::memset(&args[i], 0, sizeof args[i]);
    args[i].devid = r.devices[i].devid;
    args[i].end = UINT64_MAX;
    args[i].flags = read_only ? BTRFS_SCRUB_READONLY : 0;
    threads.emplace_back([&, i] {
      if (ioctl(fs.get(), BTRFS_IOC_SCRUB, &args[i]) < 0) errs[i] = errno;
      done[i] = true;
    });
  }

  bool cancel_sent = false;
  for (;;) {
    bool all_done = true;
    uint64_t bytes = 0;
    for (size_t i = 0; i < r.devices.size(); ++i) {
      if (done[i]) {
        bytes += args[i].progress.data_bytes_scrubbed + args[i].progress.tree_bytes_scrubbed;
        continue;
      }
      all_done = false;
      if (auto live = live_progress(fs, r.devices[i].devid))
        bytes += live->data_bytes_scrubbed + live->tree_bytes_scrubbed;
    }
    if (progress) progress(std::min(bytes, r.bytes_to_scrub), r.bytes_to_scrub);
    if (all_done) break;
    if (cancel && *cancel && !cancel_sent) {
      ioctl(fs.get(), BTRFS_IOC_SCRUB_CANCEL, 0);  // ENOTCONN: it ended meanwhile
      cancel_sent = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (auto& t : threads) t.join();

  bool any_failed = false, any_cancelled = false;
  for (size_t i = 0; i < r.devices.size(); ++i) {
    auto& d = r.devices[i];
    d.counters = from_kernel(args[i].progress);
    if (errs[i] == ECANCELED) {
      d.state = "cancelled";
      any_cancelled = true;
    } else if (errs[i]) {
      d.state = "failed";
      d.error = std::string("BTRFS_IOC_SCRUB: ") + std::strerror(errs[i]);
      any_failed = true;
    } else {
      d.state = "finished";
    }
  }
  r.state = any_failed ? "failed" : any_cancelled ? "cancelled" : "finished";
  r.finished_unix = std::time(nullptr);
  finish_totals(r);
  std::lock_guard lock(g_last_mutex);
  g_last[r.fsid] = r;
  return r;
}

ScrubReport scrub_status(const std::string& mount_point, const Context& ctx) {
  return scrub_status(open_judged_btrfs(mount_point, ctx));
}

ScrubReport scrub_status(const io::Fd& judged) { return scrub_status_of(judged, judged.path()); }

namespace {

ScrubReport scrub_status_of(const io::Fd& fs, const std::string& mount_point) {
  ScrubReport live;
  live.fsid = fs_facts(fs).fsid;
  live.mount_point = mount_point;
  bool running = false;
  for (auto& d : device_facts(fs)) {
    ScrubDevice sd{d.devid, d.path, "finished", std::nullopt, {}};
    if (auto p = live_progress(fs, d.devid)) {
      sd.state = "running";
      sd.counters = *p;
      running = true;
    }
    live.devices.push_back(sd);
  }
  std::lock_guard lock(g_last_mutex);
  auto last = g_last.find(live.fsid);
  if (running) {
    live.state = "running";
    live.bytes_to_scrub = raw_used_bytes(space_info(fs));
    if (last != g_last.end() && last->second.state == "running") live.started_unix = last->second.started_unix;
    finish_totals(live);
    return live;
  }
  if (last != g_last.end()) {
    ScrubReport r = last->second;
    r.mount_point = mount_point;
    return r;
  }
  live.devices.clear();
  return live;
}

ScrubReport cancel_running_scrub(const io::Fd& fs, const std::string& mount_point) {
  ScrubReport before = scrub_status_of(fs, mount_point);
  if (before.state != "running")
    throw Error(ErrorCode::not_found, "no scrub is running on " + mount_point, mount_point);
  if (ioctl(fs.get(), BTRFS_IOC_SCRUB_CANCEL, 0) < 0) {
    if (errno == ENOTCONN) throw Error(ErrorCode::not_found, "no scrub is running on " + mount_point, mount_point);
    throw_sys("BTRFS_IOC_SCRUB_CANCEL", mount_point, errno);
  }
  return before;
}

}  // namespace

ScrubReport scrub_cancel(const std::string& mount_point, const Context& ctx, const QueuedCancel& cancel_queued) {
  const io::Fd fs = open_judged_btrfs(mount_point, ctx);
  ScrubReport before;
  try {
    before = cancel_running_scrub(fs, mount_point);
  } catch (const Error& e) {  // no kernel scrub: a queued one is still cancellable
    if (e.code() != ErrorCode::not_found || !cancel_queued || cancel_queued() == 0) throw;
    return scrub_status_of(fs, mount_point);
  }
  if (cancel_queued) cancel_queued();
  return before;
}

}  // namespace mos::engine::btrfs
