// The daemon's health poller (mos_volmgrd --health-interval): every interval one pass over the
// disks, one disk at a time, through the same read as storage.disk_health without waking a
// sleeping ATA disk; results land in the HealthCache, a changed verdict is published on the
// EventBus (topic "health", kind "change"). The first pass starts at once.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/health/disk_health.hpp"
#include "engine/health/health_cache.hpp"
#include "engine/policy.hpp"

namespace mos::engine {
class EventBus;
}

namespace mos::engine::health {

class HealthPoller {
 public:
  // How one disk is read (read_disk_health without waking, unless replaced).
  using Reader = std::function<DiskHealth(const std::string& disk, const Policy& policy)>;
  struct Sources {
    // The whole disks present now (paths); the pass asks those the policy allows.
    std::function<std::vector<std::string>()> list_disks;
    Reader reader;                     // empty: read_disk_health(disk, policy, wake = false)
    std::function<void()> after_pass;  // e.g. re-render the inventory with the new entries
  };
  // interval 0: no thread, no pass. events may be null (no change events).
  HealthPoller(HealthCache& cache, Policy policy, EventBus* events, Sources sources, std::chrono::seconds interval);
  ~HealthPoller();
  HealthPoller(const HealthPoller&) = delete;
  HealthPoller& operator=(const HealthPoller&) = delete;

  // One pass now, on the caller's thread (the thread runs the same).
  void pass();

 private:
  void check_one(const std::string& disk);
  void run();

  HealthCache& cache_;
  Policy policy_;
  EventBus* events_;
  Sources sources_;
  std::chrono::seconds interval_;
  uint64_t removal_token_ = 0;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace mos::engine::health
