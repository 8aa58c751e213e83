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
  // the daemon's --mount-prefix, mos_sysvol its own root-relative set. Not /run, /boot nor
  // /var/cache by default: a filesystem an admin brings, mounted there, runs code as root
  // (modprobe.d and udev rules, the next boot's kernel, the node's system subvolume).
  std::vector<std::string> mount_prefixes = {"/mnt", "/media"};
  // Block filesystems storage.mount mounts besides the table's mountable ones (btrfs, ext4,
  // vfat): the daemon's --mount-fstype (engine/fstypes.hpp: require_mountable_fstype).
  std::vector<std::string> extra_mount_fstypes;
  // The btrfs subvolume volumes for VMs and containers live in (engine/volumes/), created on the
  // first change: the daemon's --volumes-dir. Its parent must be on a mounted btrfs; the default
  // nests it in the vm-meta subvolume mos_sysvol mounts.
  std::string volumes_dir = "/var/cache/vm-meta/volumes";
  // The daemon's --volumes-limit-mode qgroup: enable classic qgroups for volume limits even where
  // the kernel has simple quotas, whose incompat flag makes the filesystem unmountable before 6.7.
  bool volumes_classic_qgroups = false;

  Jobs& job_registry() const;
};

}  // namespace mos::engine
