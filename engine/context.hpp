// What every engine operation runs with: the device policy, the run directory, the job registry.
#pragma once
#include <string>
#include <vector>

#include "engine/policy.hpp"

namespace mos::engine {

class Jobs;
class EventBus;
class StateStore;
class InventoryCache;

struct Context {
  Policy policy;
  std::string run_dir = "/run/mos_volmgrd";
  Jobs* jobs = nullptr;
  EventBus* events = nullptr;  // null: changes are not published (tools, tests, mos_sysvol)
  StateStore* state = nullptr;  // null: nothing survives a restart (tools, tests, mos_sysvol)
  // The daemon's in-memory model (engine/inventory/cache.hpp); null: scan directly.
  InventoryCache* inventory = nullptr;
  // storage.mount/unmount targets lie at or beneath one of these (engine/mount_target.hpp);
  // the daemon's --mount-prefix, mos_sysvol its own root-relative set.
  std::vector<std::string> mount_prefixes = {"/var/cache", "/mnt", "/media", "/boot", "/run"};

  Jobs& job_registry() const;
};

}  // namespace mos::engine
