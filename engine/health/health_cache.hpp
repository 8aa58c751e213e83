// The daemon's last known health of each disk (filled by health_poller.hpp): what
// storage.inventory and storage.metrics show, so neither ever sends a SMART command. Bounded: one
// entry per disk, dropped when the disk goes away.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/health/disk_health.hpp"
#include "engine/json.hpp"

namespace mos::engine::health {

struct CachedHealth {
  DiskHealth health;
  std::optional<int64_t> checked_at;  // unix seconds of the read; null when the disk was not asked
};

class HealthCache {
 public:
  // Stores the entry of entry.health.disk; returns the one it replaced.
  std::optional<CachedHealth> put(CachedHealth entry);
  std::optional<CachedHealth> get(const std::string& disk) const;
  std::vector<CachedHealth> entries() const;
  void erase(const std::string& disk);
  // Drops every entry whose disk is not in present.
  void retain(const std::set<std::string>& present);

  // {status, reasons, checked_at} of one disk for the inventory; unknown "not checked yet" when
  // the poller has not reached it.
  json summary(const std::string& disk) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, CachedHealth> by_disk_;
};

// Gives every disk object of a storage.list_disks array its `health` (the summary; null without
// a cache: a direct scan has no poller behind it).
void add_health(json& disks, const HealthCache* cache);

}  // namespace mos::engine::health
