// Long-running operations (scrub, balance, defrag, zero, checksum, rebuild follow-up) run as jobs
// on a fixed pool of worker threads fed by a bounded queue. They report progress, can be
// cancelled (queued or running), keep their final state for a bounded time/count, and are
// announced on the event bus (topic "jobs": queued, started, progress, finished).
//
// Scheduling rules:
// - At most `workers` jobs run at once; the rest wait as state "queued" (at most `queue_limit`,
//   beyond that submit() fails with -32000 "busy"); one owner uid other than 0 at most
//   `owner_limit` queued or running jobs (beyond: -32000 "busy"), so one user cannot take the
//   queue admins' scrub/zero/balance need.
// - A job with an exclusive key (the device or mount point a mutating job changes) never runs
//   alongside another job holding the same key: it stays queued behind it, in submission order.
//   A second job of the same kind on the same key is refused (-32000) instead of queued.
// - Jobs without a key (read-only work such as checksum) run alongside anything.
// - Worker threads are created on demand up to `workers` and live until the registry ends; if
//   none can be created, submit() fails with -32000 and leaves nothing behind.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/json.hpp"

namespace mos::engine {

class EventBus;

struct JobInfo {
  uint64_t id = 0;
  std::string kind;    // "scrub", "balance", "zero", "checksum", ...
  std::string target;  // device or mount point
  // queued | running | succeeded | failed | cancelled | interrupted (was running when the
  // daemon stopped; restored from the state directory)
  std::string state;
  uint64_t done = 0, total = 0;
  std::optional<std::string> error;
  std::optional<int> error_code;
  json result;         // the operation's result once succeeded (null before)
  int64_t queued_unix = 0;
  int64_t started_unix = 0;  // 0 while queued
  std::optional<int64_t> finished_unix;

  bool active() const { return state == "queued" || state == "running"; }
};
void to_json(json& j, const JobInfo& i);
// Reads a job written by to_json (persistent state); throws json errors on a malformed object.
JobInfo job_from_json(const json& j);

class JobHandle {
 public:
  void progress(uint64_t done, uint64_t total);
  bool cancelled() const { return cancel_->load(); }
  // Throws mos::Error("cancelled") if cancellation was requested.
  void check_cancelled() const;
  const std::atomic<bool>* cancel_flag() const { return cancel_.get(); }
  uint64_t id() const { return id_; }
  // For a job that follows work the kernel does (an md rebuild): call this and return. The
  // worker is freed; the job stays "running" (keeping its key) and its function runs again on a
  // worker after `delay`. A cancel wakes it at once.
  void poll_again(std::chrono::milliseconds delay) { again_ = delay; }

 private:
  friend class Jobs;
  uint64_t id_ = 0;
  std::optional<std::chrono::milliseconds> again_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::function<void(uint64_t, uint64_t)> report_;
};

struct JobsOptions {
  unsigned workers = 4;             // --job-workers
  size_t queue_limit = 64;          // --job-queue: jobs waiting for a worker
  size_t owner_limit = 16;          // --max-jobs-per-uid: unfinished jobs of one owner (uid 0 exempt)
  size_t history_limit = 256;       // --job-history: finished jobs kept
  int64_t history_seconds = 3600;   // finished jobs older than this are pruned
  // Creates one worker thread (tests inject failures); default std::thread.
  std::function<std::thread(std::function<void()>)> spawn = {};
};

class Jobs {
 public:
  using Fn = std::function<json(JobHandle&)>;
  using Done = std::function<void(const JobInfo&)>;

  struct Spec {
    std::string kind, target;
    std::string exclusive_key;  // empty: runs alongside anything
    Fn fn;
    // Called (from cancel()) for operations the kernel cancels itself (scrub, balance); the
    // flag in JobHandle is set either way.
    std::function<void()> on_cancel = {};
    // Called once with the final state, on the thread that ended the job (a worker, or the
    // canceller of a queued job), outside the registry lock.
    Done on_done = {};
    // The uid of the caller who asked for it; 0 (root, in-process) has no limit, any other uid
    // at most JobsOptions::owner_limit queued or running jobs.
    uint32_t owner_uid = 0;
  };

  explicit Jobs(JobsOptions options = {}, EventBus* events = nullptr);
  ~Jobs();
  Jobs(const Jobs&) = delete;
  Jobs& operator=(const Jobs&) = delete;

  // Queues the job (or starts it when a worker is free); returns its id. Throws -32000 when the
  // queue is full, a same-kind job holds the key, or no worker thread can be created.
  uint64_t submit(Spec spec);
  // submit() without exclusive key.
  uint64_t start(const std::string& kind, const std::string& target, Fn fn, std::function<void()> on_cancel = {});

  std::vector<JobInfo> list() const;
  std::optional<JobInfo> get(uint64_t id) const;
  // Waits until the job ends; returns its final state (-32002 if unknown or already pruned).
  JobInfo wait(uint64_t id) const;
  // False when the job had already ended; -32002 when unknown.
  bool cancel(uint64_t id);
  // Cancels every queued and running job (daemon shutdown).
  void cancel_all();
  // True if a job of this kind is queued or running on this target.
  bool running(const std::string& kind, const std::string& target) const;

  // Jobs of an earlier daemon run (persistent state): kept as history, ids continue after them;
  // a job that was queued or running then is recorded as "interrupted".
  void restore(std::vector<JobInfo> earlier);
  // Called with every job after each start and end (persistent state); serialised, outside the
  // registry lock, the last call always carries the newest state.
  void set_observer(std::function<void(const std::vector<JobInfo>&)> observer);

  struct Stats {
    size_t workers = 0;  // threads created
    size_t queued = 0, running = 0, finished = 0;
  };
  Stats stats() const;
  const JobsOptions& options() const { return options_; }

 private:
  struct Entry {
    JobInfo info;
    Spec spec;
    std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
    std::chrono::steady_clock::time_point last_progress_event{};
  };
  struct Notice {  // what to announce once the lock is released
    JobInfo info;
    std::string kind;  // event kind
    Done on_done;
  };

  void worker_loop();
  void wake_due_locked();
  void ensure_worker_locked();
  void assign_locked(std::vector<Notice>& out);
  void finish_locked(Entry& e, const std::string& state, json result, std::optional<std::string> error,
                     std::optional<int> code, std::vector<Notice>& out);
  void prune_locked();
  void announce(std::vector<Notice> notices);
  void persist();

  JobsOptions options_;
  EventBus* events_;
  mutable std::mutex mu_;
  mutable std::condition_variable work_cv_, done_cv_;
  std::map<uint64_t, std::unique_ptr<Entry>> jobs_;
  std::deque<uint64_t> queue_;  // queued, in submission order
  std::deque<uint64_t> ready_;  // assigned to a worker, not yet picked up
  // Polling jobs between two polls ("running", holding no worker), by wake-up time.
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> sleeping_;
  std::set<std::string> busy_keys_;
  std::vector<std::thread> threads_;
  size_t running_ = 0;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::mutex persist_mu_;
  std::function<void(const std::vector<JobInfo>&)> observer_;
};

}  // namespace mos::engine
