// The daemon's whole life: the full method registry served on a Unix socket until SIGTERM/SIGINT.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "engine/health/health_poller.hpp"
#include "rpc/limits.hpp"

namespace mos::rpc {

struct DaemonOptions {
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  std::string allow_devices;  // comma-separated globs; empty = every device
  std::string run_dir = "/run/mos_volmgrd";
  unsigned workers = 8;
  std::FILE* log = nullptr;  // "listening"/"shut down" and audit lines go here when set
  Limits limits = {};
  unsigned socket_mode = 0660;
  std::string socket_group;  // "" = the daemon's group
  std::string admin_group;   // "" = only uid 0 may call admin-only methods (mutating, device contents)
  // Job scheduler (engine/jobs/jobs.hpp): worker threads, queued jobs, finished jobs kept.
  unsigned job_workers = 4;
  size_t job_queue = 64;
  size_t max_jobs_per_uid = 16;  // unfinished jobs of one uid (uid 0 exempt)
  size_t job_history = 256;
  int64_t job_history_seconds = 3600;
  std::string state_dir = "/var/lib/mos_volmgrd";  // jobs and scrub results across restarts; "" = none
  unsigned inventory_revalidate_ms = 2000;  // re-probe period of the in-memory inventory
  // --mount-prefix (repeatable): storage.mount/unmount targets at or beneath one of these;
  // empty = the engine's defaults (engine::Context::mount_prefixes: /mnt, /media).
  std::vector<std::string> mount_prefixes;
  // --mount-fstype (repeatable): block filesystems mounted besides btrfs, ext4 and vfat.
  std::vector<std::string> mount_fstypes;
  // --volumes-dir: the btrfs subvolume of the storage.volume_* methods (engine::Context::volumes_dir).
  std::string volumes_dir = "/var/cache/vm-meta/volumes";
  // --volumes-limit-mode qgroup: classic qgroups for volume limits (engine::Context::volumes_classic_qgroups).
  bool volumes_classic_qgroups = false;
  // --health-interval: seconds between the health poller's passes over the disks (0 = no poller).
  unsigned health_interval_seconds = 3600;
  // How the poller reads one disk; empty = engine::health::read_disk_health without waking.
  engine::health::HealthPoller::Reader health_reader;
};

// chdir("/"), blocks SIGTERM/SIGINT in every thread (the server takes them through signalfd),
// ignores SIGPIPE, binds, then serves until a signal arrives. Throws mos::Error when the socket
// cannot be bound.
void run_daemon(const DaemonOptions& options);

}  // namespace mos::rpc
