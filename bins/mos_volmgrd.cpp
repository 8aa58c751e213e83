// mos_volmgrd: the storage daemon. JSON-RPC 2.0 over a Unix socket; all work in-process.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "rpc/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mos_volmgrd: MOS volume manager daemon (JSON-RPC 2.0 over a Unix socket)"};
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  std::string allow = "";
  std::string run_dir = "/run/mos_volmgrd";
  unsigned workers = 8;
  mos::rpc::DaemonOptions defaults;
  unsigned job_workers = defaults.job_workers;
  size_t job_queue = defaults.job_queue, job_history = defaults.job_history;
  int64_t job_history_seconds = defaults.job_history_seconds;
  std::string state_dir = defaults.state_dir;
  app.add_option("--socket", socket_path, "Unix socket path")->capture_default_str();
  app.add_option("--allow-devices", allow,
                 "Comma-separated globs of devices mutating methods may touch (default: all)");
  app.add_option("--run-dir", run_dir, "Runtime directory (private mounts)")->capture_default_str();
  app.add_option("--workers", workers, "Request worker threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  app.add_option("--job-workers", job_workers, "Job worker threads (scrub, balance, zero, checksum, ...)")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  app.add_option("--job-queue", job_queue, "Jobs that may wait for a worker; beyond: -32000 busy")
      ->check(CLI::Range(size_t{1}, size_t{4096}))
      ->capture_default_str();
  app.add_option("--job-history", job_history, "Finished jobs kept for storage.jobs")
      ->check(CLI::Range(size_t{0}, size_t{4096}))
      ->capture_default_str();
  app.add_option("--job-history-seconds", job_history_seconds, "Finished jobs are pruned after this many seconds")
      ->check(CLI::Range(int64_t{0}, int64_t{30} * 86400))
      ->capture_default_str();
  app.add_option("--state-dir", state_dir, "Jobs and scrub results kept across restarts (\"\" = none)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    mos::rpc::DaemonOptions opts;
    opts.socket_path = socket_path;
    opts.allow_devices = allow;
    opts.run_dir = run_dir;
    opts.workers = workers;
    opts.log = stderr;
    opts.job_workers = job_workers;
    opts.job_queue = job_queue;
    opts.job_history = job_history;
    opts.job_history_seconds = job_history_seconds;
    opts.state_dir = state_dir;
    mos::rpc::run_daemon(opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos_volmgrd: %s\n", e.what());
    return 1;
  }
  return 0;
}
