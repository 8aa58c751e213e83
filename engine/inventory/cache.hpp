// The daemon's inventory at memory speed: disks, partitions, filesystems, mounts, md arrays and
// btrfs subvolumes kept in memory as one immutable snapshot, rebuilt only when something changed.
// Queries take the current snapshot under a shared lock and never touch a disk.
//
// What keeps it fresh (engine/inventory/monitor.cpp feeds it):
// - block uevents (NETLINK_KOBJECT_UEVENT, add/remove/change): sysfs facts of every device are
//   re-read, content (signatures, GPT names) is re-probed only for the device that changed and
//   the disk/partitions it belongs with;
// - mount table changes (/proc/self/mountinfo POLLPRI): mount points, mounts and subvolumes;
// - our own mutations: the daemon invalidates after every mutating method, the next query
//   rebuilds first;
// - changes nobody announces (mkfs by a tool on a machine without udev, subvolumes, md sync
//   progress): every device is re-probed every `revalidate` interval (default 2 s), so such a
//   change shows within that bound.
// A model change is published on the EventBus: topics devices (add/remove/change), mounts
// (mounted/unmounted) and raid (add/remove/change).
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/inventory.hpp"

namespace mos::engine {

class EventBus;
class Monitor;
namespace health {
class HealthCache;
}

struct InventorySnapshot {
  uint64_t generation = 0;
  std::vector<Device> devices;  // every device, discovery order
  Inventory inventory;
  // Query results as JSON text, rendered once per change (invalid UTF-8 in labels replaced).
  std::string disks, partitions, filesystems, mounts, raids, all;
};

class InventoryCache {
 public:
  struct Options {
    std::chrono::milliseconds revalidate{2000};  // full re-probe period; 0 = never
    bool monitor = true;                         // watch uevents and mountinfo in a thread
    // The poller's results, shown as each disk's `health` (engine/health/health_cache.hpp);
    // null: health is null.
    const health::HealthCache* health = nullptr;
  };
  explicit InventoryCache(EventBus* events = nullptr);
  InventoryCache(EventBus* events, Options opts);
  ~InventoryCache();
  InventoryCache(const InventoryCache&) = delete;
  InventoryCache& operator=(const InventoryCache&) = delete;

  // The current model. First applies what is already known to have changed (queued uevents,
  // a mount table change, an invalidation), so a query never misses an announced change.
  std::shared_ptr<const InventorySnapshot> snapshot();
  // The current model when no announced change waits to be applied (no invalidation, no queued
  // uevent or mount table change, no rebuild of them under way), else null: never probes or
  // waits, for callers that must not block (the daemon's I/O thread). One poll(2) when watching.
  std::shared_ptr<const InventorySnapshot> fresh_snapshot();
  // Our own mutation wrote somewhere: the next snapshot() rebuilds from scratch.
  void invalidate() { dirty_.store(true); }
  // Full rebuild now (start-up, after invalidate()).
  void rescan();
  // The health cache changed: the same devices rendered again with it (nothing is probed).
  void refresh_health();
  // The health cache the model renders (storage.metrics reads it too); null when none.
  const health::HealthCache* health() const { return opts_.health; }
  // The periodic check for changes nobody announced: loop devices (and their partitions) are
  // re-probed only when their backing file's mtime or size moved (so other programs' loop
  // devices are not opened every period), and all of them every tenth period; every other
  // device is re-probed each time.
  void revalidate();

  // For pre-write checks (btrfs fsid uniqueness): {device path, btrfs fsid} of every known
  // device carrying btrfs, from the model (settled first, as snapshot(); or as it stands).
  std::vector<std::pair<std::string, std::string>> btrfs_fsids(bool settle = true);

 private:
  friend class Monitor;
  // Rebuilds with sysfs and mountinfo re-read; content re-probed only for `reprobe` (all when
  // null), other devices keep their content facts from the previous snapshot.
  void rebuild(const std::set<std::string>* reprobe);
  void install(std::shared_ptr<InventorySnapshot> next);
  void render(InventorySnapshot& snap) const;
  void settle();

  EventBus* events_;
  Options opts_;
  std::mutex write_mu_;  // one rebuild at a time
  mutable std::shared_mutex mu_;
  std::shared_ptr<const InventorySnapshot> snap_;
  std::atomic<bool> dirty_{false};
  // Backing-file stamps (mtime ns, size) of loop devices, taken just before they were probed.
  std::map<std::string, std::pair<int64_t, int64_t>> loop_stamps_;
  uint64_t revalidations_ = 0;  // monitor thread only
  std::unique_ptr<Monitor> monitor_;
};

// {device path, btrfs fsid} of every known device carrying btrfs, for pre-write checks (fsid
// uniqueness): from the daemon's model when ctx has one, else one direct scan that reads only
// the devices ctx.policy allows.
// settle = false: what the daemon's model holds now, without waiting for announced changes or
// a rebuild (a random fsid cannot collide with a device that changed a moment ago); without a
// model, the scan either way.
std::vector<std::pair<std::string, std::string>> known_btrfs_fsids(const Context& ctx, bool settle = true);

// Subvolumes of every mounted btrfs filesystem (one entry per filesystem), without mounting
// anything: listed through the first mount of each filesystem.
std::vector<FilesystemSubvolumes> mounted_subvolumes(const std::vector<MountInfo>& mounts);

}  // namespace mos::engine
