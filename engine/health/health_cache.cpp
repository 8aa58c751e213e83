#include "engine/health/health_cache.hpp"

namespace mos::engine::health {

std::optional<CachedHealth> HealthCache::put(CachedHealth entry) {
  std::lock_guard lock(mu_);
  std::optional<CachedHealth> before;
  auto it = by_disk_.find(entry.health.disk);
  if (it != by_disk_.end()) before = std::move(it->second);
  std::string disk = entry.health.disk;
  by_disk_[disk] = std::move(entry);
  return before;
}

std::optional<CachedHealth> HealthCache::get(const std::string& disk) const {
  std::lock_guard lock(mu_);
  auto it = by_disk_.find(disk);
  if (it == by_disk_.end()) return std::nullopt;
  return it->second;
}

std::vector<CachedHealth> HealthCache::entries() const {
  std::lock_guard lock(mu_);
  std::vector<CachedHealth> out;
  out.reserve(by_disk_.size());
  for (const auto& [disk, e] : by_disk_) out.push_back(e);
  return out;
}

void HealthCache::erase(const std::string& disk) {
  std::lock_guard lock(mu_);
  by_disk_.erase(disk);
}

void HealthCache::retain(const std::set<std::string>& present) {
  std::lock_guard lock(mu_);
  std::erase_if(by_disk_, [&](const auto& kv) { return !present.count(kv.first); });
}

json HealthCache::summary(const std::string& disk) const {
  std::lock_guard lock(mu_);
  auto it = by_disk_.find(disk);
  if (it == by_disk_.end())
    return {{"status", "unknown"}, {"reasons", json::array({"not checked yet"})}, {"checked_at", nullptr}};
  const CachedHealth& e = it->second;
  return {{"status", to_string(e.health.verdict.status)},
          {"reasons", e.health.verdict.reasons},
          {"checked_at", e.checked_at}};
}

void add_health(json& disks, const HealthCache* cache) {
  if (!disks.is_array()) return;
  for (auto& d : disks) {
    if (!d.is_object() || !d.contains("path") || !d["path"].is_string()) continue;
    d["health"] = cache ? cache->summary(d["path"].get<std::string>()) : json(nullptr);
  }
}

}  // namespace mos::engine::health
