// What every engine operation runs with: the device policy, the run directory, the job registry.
#pragma once
#include <string>
#include <vector>

namespace mos::engine {

class Jobs;
class EventBus;
class StateStore;
class InventoryCache;
struct Event;

// --allow-devices: operations only touch devices matching one of these globs — the device itself
// and everything it stacks on (partition → whole disk, md/dm → slaves, loop → a backing file
// that is itself a block device), so a partition or an array cannot smuggle in a disk the policy
// leaves out.
struct Policy {
  std::vector<std::string> allow_devices;  // fnmatch(3) globs; empty = every device

  bool allowed(const std::string& device_path) const;
  // Throws -32001 naming the device (or the lower device it stacks on) and the globs when it is
  // not allowed.
  void require_allowed(const std::string& device_path) const;
  // The first device in the stack of device_path that no glob matches ("" when all match).
  std::string first_refused(const std::string& device_path) const;
  // "a,b" -> {"a","b"}
  static Policy from_globs(const std::string& comma_separated);
};

struct Context {
  Policy policy;
  std::string run_dir = "/run/mos_volmgrd";
  Jobs* jobs = nullptr;
  EventBus* events = nullptr;  // null: changes are not published (tools, tests, mos_sysvol)
  StateStore* state = nullptr;  // null: nothing survives a restart (tools, tests, mos_sysvol)
  // The daemon's in-memory model (engine/inventory_cache.hpp); null: scan directly.
  InventoryCache* inventory = nullptr;

  Jobs& job_registry() const;
  // Publishes on events when set; a no-op otherwise.
  void publish(const Event& e) const;
};

}  // namespace mos::engine
