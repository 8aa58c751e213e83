#include "engine/health/health_poller.hpp"

#include <ctime>
#include <set>

#include "base/error.hpp"
#include "engine/inventory/events.hpp"

namespace mos::engine::health {
namespace {

bool same_verdict(const Verdict& a, const Verdict& b) { return a.status == b.status && a.reasons == b.reasons; }

}  // namespace

HealthPoller::HealthPoller(HealthCache& cache, Policy policy, EventBus* events, Sources sources,
                           std::chrono::seconds interval)
    : cache_(cache), policy_(std::move(policy)), events_(events), sources_(std::move(sources)), interval_(interval) {
  if (!sources_.reader)
    sources_.reader = [](const std::string& disk, const Policy& p) { return read_disk_health(disk, p, false); };
  if (interval_.count() <= 0) return;
  // A removed disk's entry goes at once (a new disk may take its name before the next pass).
  if (events_)
    removal_token_ = events_->subscribe([this](const Event& e) {
      if (e.topic == "devices" && e.kind == "remove" && e.data.contains("path") && e.data["path"].is_string())
        cache_.erase(e.data["path"].get<std::string>());
    });
  thread_ = std::thread([this] { run(); });
}

HealthPoller::~HealthPoller() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (removal_token_) events_->unsubscribe(removal_token_);
}

void HealthPoller::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    try {
      pass();
    } catch (const std::exception&) {  // the disk list unreadable this time: the next pass retries
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

void HealthPoller::pass() {
  std::vector<std::string> disks = sources_.list_disks();
  cache_.retain(std::set<std::string>(disks.begin(), disks.end()));
  for (const auto& disk : disks) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
    check_one(disk);
  }
  if (sources_.after_pass) sources_.after_pass();
}

void HealthPoller::check_one(const std::string& disk) {
  CachedHealth entry;
  if (!policy_.allowed(disk)) {
    entry.health.disk = disk;
    entry.health.transport = "none";
    entry.health.verdict = unknown_verdict("not checked: outside --allow-devices");
    cache_.put(std::move(entry));
    return;
  }
  try {
    entry.health = sources_.reader(disk, policy_);
  } catch (const Error& e) {  // gone meanwhile, or refused: say why instead of a stale verdict
    entry.health = DiskHealth{};
    entry.health.transport = "none";
    entry.health.verdict = unknown_verdict(e.what());
  }
  entry.health.disk = disk;
  entry.checked_at = static_cast<int64_t>(std::time(nullptr));
  std::optional<CachedHealth> before = cache_.put(entry);
  if (!events_ || !before || !before->checked_at || same_verdict(before->health.verdict, entry.health.verdict)) return;
  events_->publish(Event{"health", "change",
                         {{"disk", disk},
                          {"old_status", to_string(before->health.verdict.status)},
                          {"status", to_string(entry.health.verdict.status)},
                          {"old_reasons", before->health.verdict.reasons},
                          {"reasons", entry.health.verdict.reasons},
                          {"checked_at", entry.checked_at}}});
}

}  // namespace mos::engine::health
