// Long-running operations (scrub, balance, zero, checksum) run as jobs on their own thread,
// report progress, can be cancelled, and keep their final state for later queries.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/json.hpp"

namespace mos::engine {

struct JobInfo {
  uint64_t id = 0;
  std::string kind;    // "scrub", "balance", "zero", "checksum", ...
  std::string target;  // device or mount point
  std::string state;   // running | succeeded | failed | cancelled
  uint64_t done = 0, total = 0;
  std::optional<std::string> error;
  std::optional<int> error_code;
  json result;         // the operation's result once succeeded (null before)
  int64_t started_unix = 0;
  std::optional<int64_t> finished_unix;
};
void to_json(json& j, const JobInfo& i);

class JobHandle {
 public:
  void progress(uint64_t done, uint64_t total);
  bool cancelled() const { return cancel_->load(); }
  // Throws mos::Error("cancelled") if cancellation was requested.
  void check_cancelled() const;
  const std::atomic<bool>* cancel_flag() const { return cancel_.get(); }

 private:
  friend class Jobs;
  std::shared_ptr<std::atomic<bool>> cancel_;
  std::function<void(uint64_t, uint64_t)> report_;
};

class Jobs {
 public:
  using Fn = std::function<json(JobHandle&)>;
  // Optional on_cancel is called (from cancel()) for operations the kernel cancels itself
  // (scrub, balance); the flag in JobHandle is set either way.
  uint64_t start(const std::string& kind, const std::string& target, Fn fn,
                 std::function<void()> on_cancel = {});
  std::vector<JobInfo> list() const;
  std::optional<JobInfo> get(uint64_t id) const;
  // Waits until the job leaves "running"; returns its final state.
  JobInfo wait(uint64_t id) const;
  bool cancel(uint64_t id);
  // Cancels every running job (daemon shutdown).
  void cancel_all();
  // True if a job of this kind is running on this target.
  bool running(const std::string& kind, const std::string& target) const;
  ~Jobs();

 private:
  struct Entry {
    JobInfo info;
    std::shared_ptr<std::atomic<bool>> cancel;
    std::function<void()> on_cancel;
    std::thread thread;
  };
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<uint64_t, std::unique_ptr<Entry>> jobs_;
  uint64_t next_id_ = 1;
};

}  // namespace mos::engine
