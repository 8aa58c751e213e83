// mos_volmgrd: the storage daemon. JSON-RPC 2.0 over a Unix socket; all work in-process.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bins/version.hpp"
#include "rpc/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mos_volmgrd: MOS volume manager daemon (JSON-RPC 2.0 over a Unix socket)"};
  mos::rpc::DaemonOptions o;
  o.log = stderr;
  std::string mode = "0660";
  // One option per line.
  app.add_option("--socket", o.socket_path, "Unix socket path (its directory must be ours and not group/other-writable)")->capture_default_str();
  app.add_option("--allow-devices", o.allow_devices, "Comma-separated globs of devices mutating methods may touch (default: all)");
  app.add_option("--run-dir", o.run_dir, "Runtime directory (private mounts)")->capture_default_str();
  app.add_option("--mount-prefix", o.mount_prefixes,
                 "Directory storage.mount/unmount targets must be at or beneath (repeatable; default /mnt /media)");
  app.add_option("--mount-fstype", o.mount_fstypes,
                 "Block filesystem storage.mount may mount besides btrfs, ext4 and vfat (repeatable; must be loaded)");
  app.add_option("--volumes-dir", o.volumes_dir,
                 "btrfs subvolume of the storage.volume_* methods, made on first use (its parent must be on a mounted btrfs)")
      ->capture_default_str();
  std::string limit_mode = "auto";
  app.add_option("--volumes-limit-mode", limit_mode,
                 "How fs volume limits are enforced when quota is off: auto (simple quotas where the kernel has them, "
                 "qgroups otherwise) or qgroup (classic qgroups always: the filesystem stays mountable before 6.7)")
      ->check(CLI::IsMember({"auto", "qgroup"}))
      ->capture_default_str();
  app.add_option("--workers", o.workers, "Request worker threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  app.add_option("--socket-mode", mode, "Final mode of the socket, octal")->capture_default_str();
  app.add_option("--socket-group", o.socket_group, "Group owning the socket (default: the daemon's)");
  app.add_option("--admin-group", o.admin_group, "Members may call mutating methods (default: uid 0 only)");
  app.add_option("--max-json-depth", o.limits.max_json_depth, "Deepest JSON nesting accepted in a request")->check(CLI::Range(2u, 1000u))->capture_default_str();
  app.add_option("--max-batch", o.limits.max_batch, "Most calls in one batch")->check(CLI::Range(size_t{1}, size_t{100000}))->capture_default_str();
  app.add_option("--max-response-bytes", o.limits.max_response_bytes, "Largest answer to one message (a whole batch); larger: one error")->check(CLI::Range(size_t{65536}, size_t{1} << 34))->capture_default_str();
  app.add_option("--max-line-bytes", o.limits.max_line_bytes, "Longest request line; longer: error and disconnect")->check(CLI::Range(size_t{1024}, size_t{1} << 30))->capture_default_str();
  app.add_option("--max-connection-output", o.limits.max_connection_output, "Unread bytes per connection before it is no longer read (or its event subscription dropped)")->check(CLI::Range(size_t{65536}, size_t{1} << 34))->capture_default_str();
  app.add_option("--max-total-output", o.limits.max_total_output, "Unread bytes of all connections together before none is read (and subscribers are dropped)")->check(CLI::Range(size_t{1} << 20, size_t{1} << 36))->capture_default_str();
  app.add_option("--max-connections", o.limits.max_connections, "Most simultaneous client connections")->check(CLI::Range(1u, 1000000u))->capture_default_str();
  app.add_option("--reserved-admin-connections", o.limits.reserved_admin_connections, "Of --max-connections, how many only uid 0 and --admin-group members may take (less than --max-connections)")->check(CLI::Range(0u, 1000000u))->capture_default_str();
  app.add_option("--max-connections-per-uid", o.limits.max_connections_per_uid, "Most simultaneous connections of one uid (uid 0 exempt)")->check(CLI::Range(1u, 1000000u))->capture_default_str();
  app.add_option("--max-subscriptions-per-uid", o.limits.max_subscriptions_per_uid, "Most connections of one uid holding an event subscription (uid 0 exempt)")->check(CLI::Range(0u, 1000000u))->capture_default_str();
  app.add_option("--idle-timeout", o.limits.idle_timeout_seconds, "Seconds before an idle, unsubscribed connection is closed (0 = never)")->capture_default_str();
  app.add_option("--shutdown-timeout", o.limits.shutdown_timeout_seconds, "Seconds SIGTERM waits for running calls and jobs; then those still running (stuck in the kernel) are logged and the daemon exits with status 3 (0 = wait for ever)")->check(CLI::Range(0u, 3600u))->capture_default_str();
  app.add_option("--job-workers", o.job_workers, "Job worker threads (scrub, balance, zero, checksum, ...)")->check(CLI::Range(1u, 64u))->capture_default_str();
  app.add_option("--job-queue", o.job_queue, "Jobs that may wait for a worker; beyond: -32000 busy")->check(CLI::Range(size_t{1}, size_t{4096}))->capture_default_str();
  app.add_option("--max-jobs-per-uid", o.max_jobs_per_uid, "Most unfinished (queued or running) jobs of one uid (uid 0 exempt); beyond: -32000 busy")->check(CLI::Range(size_t{1}, size_t{4096}))->capture_default_str();
  app.add_option("--job-history", o.job_history, "Finished jobs kept for storage.jobs")->check(CLI::Range(size_t{0}, size_t{4096}))->capture_default_str();
  app.add_option("--job-history-seconds", o.job_history_seconds, "Finished jobs are pruned after this many seconds")->check(CLI::Range(int64_t{0}, int64_t{30} * 86400))->capture_default_str();
  app.add_option("--health-interval", o.health_interval_seconds, "Seconds between passes of the disk health poller (SMART / NVMe log of each allowed disk, one at a time, sleeping ATA disks not woken; 0 = off)")->check(CLI::Range(0u, 604800u))->capture_default_str();
  app.add_option("--state-dir", o.state_dir, "Jobs and scrub results kept across restarts (\"\" = none)")->capture_default_str();
  app.set_version_flag("--version", "mos_volmgrd " MOS_VERSION);
  CLI11_PARSE(app, argc, argv);
  try {
    o.socket_mode = static_cast<unsigned>(std::stoul(mode, nullptr, 8)) & 0777u;
  } catch (const std::exception&) {
    std::fprintf(stderr, "mos_volmgrd: --socket-mode %s is not an octal mode\n", mode.c_str());
    return 2;
  }
  o.volumes_classic_qgroups = limit_mode == "qgroup";
  if (o.limits.reserved_admin_connections >= o.limits.max_connections) {
    std::fprintf(stderr, "mos_volmgrd: --reserved-admin-connections %u must be less than --max-connections %u\n",
                 o.limits.reserved_admin_connections, o.limits.max_connections);
    return 2;
  }
  try {
    mos::rpc::run_daemon(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos_volmgrd: %s\n", e.what());
    return 1;
  }
  return 0;
}
