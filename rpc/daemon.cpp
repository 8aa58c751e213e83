#include "rpc/daemon.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/context.hpp"
#include "engine/health/health_cache.hpp"
#include "engine/inventory/events.hpp"
#include "engine/inventory/cache.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/jobs/state_store.hpp"
#include "base/error.hpp"
#include "base/safe_text.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"

namespace mos::rpc {
namespace {

constexpr int kExitAbandoned = 3;  // calls stuck in the kernel were abandoned at shutdown

// Bounds the rest of a shutdown once armed: if not disarmed (destroyed) within the bound, names
// what is still running and exits the process.
class ShutdownWatchdog {
 public:
  ShutdownWatchdog() = default;
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;
  void arm(unsigned seconds, std::string what, std::FILE* log) {
    if (seconds == 0) return;
    thread_ = std::thread([this, seconds, what = std::move(what), log] {
      std::unique_lock lk(mu_);
      if (cv_.wait_for(lk, std::chrono::seconds(seconds), [this] { return done_; })) return;
      std::fprintf(log, "mos_volmgrd: shutdown: %s still running after --shutdown-timeout %u s, abandoned\n",
                   printable_text(what).c_str(),
                   seconds);
      std::fflush(log);
      _exit(kExitAbandoned);
    });
  }
  ~ShutdownWatchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

constexpr int kHeapBlockLimit = 8 << 20;  // allocations below this come from the reused heap (bulk I/O arenas, 32 MiB, stay mmapped)

// Every mutating method marks the inventory stale when it ends (whatever it wrote, mounted or
// created), so the caller's next query rebuilds first and sees its own change.
Registry invalidating_after_mutations(const Registry& plain, engine::InventoryCache& inventory) {
  Registry out;
  for (Method m : plain.methods()) {
    if (m.mutating && m.handler) {
      m.handler = [h = m.handler, &inventory](const json& params, engine::Context& ctx) {
        struct Invalidate {
          engine::InventoryCache& c;
          ~Invalidate() { c.invalidate(); }
        } on_exit{inventory};
        return h(params, ctx);
      };
    }
    if (m.mutating && m.deferred) {
      m.deferred = [d = m.deferred, &inventory](const json& params, engine::Context& ctx, Reply reply) {
        d(params, ctx, Reply([reply, &inventory](json result, const Error* error) {
          inventory.invalidate();
          if (error) reply.fail(*error);
          else reply.result(std::move(result));
        }));
      };
    }
    out.add(std::move(m));
  }
  return out;
}

}  // namespace

void run_daemon(const DaemonOptions& given) {
  DaemonOptions options = given;
  options.socket_path = std::filesystem::absolute(given.socket_path).lexically_normal();
  options.run_dir = std::filesystem::absolute(given.run_dir).lexically_normal();
  if (!options.state_dir.empty()) options.state_dir = std::filesystem::absolute(given.state_dir).lexically_normal();
  // Relative names (mount tables, fd links) must never resolve against where we were started.
  if (chdir("/") != 0) throw_sys("chdir", "/", errno);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Large buffers (a format's plan, probe windows, a big answer) come from one reused heap, not
  // fresh mmaps: first touching fresh pages costs a fault each, about a millisecond per few MiB
  // on a virtual machine, more than the work itself. The server trims the heap back once no
  // worker has answered for two seconds, so an idle daemon keeps its small footprint.
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, kHeapBlockLimit);
  mallopt(M_TRIM_THRESHOLD, 2 * kHeapBlockLimit);

  std::FILE* log = options.log ? options.log : stderr;
  ShutdownWatchdog watchdog;  // first: it ends last, after the job scheduler has
  engine::EventBus events;  // outlives the scheduler, which publishes until it ends
  std::optional<engine::StateStore> state;
  if (!options.state_dir.empty()) state.emplace(options.state_dir, log);
  // Before the jobs: a job ending during shutdown still marks the model stale.
  engine::health::HealthCache health;  // outlives the model that renders it and the poller that fills it
  engine::InventoryCache inventory(&events, {std::chrono::milliseconds(options.inventory_revalidate_ms), true, &health});
  engine::JobsOptions job_options;
  job_options.workers = options.job_workers;
  job_options.queue_limit = options.job_queue;
  job_options.owner_limit = options.max_jobs_per_uid;
  job_options.history_limit = options.job_history;
  job_options.history_seconds = options.job_history_seconds;
  engine::Jobs jobs(job_options, &events);
  if (state) {
    jobs.restore(state->load_jobs());
    jobs.set_observer([&state, log](const std::vector<engine::JobInfo>& all) {
      try {
        state->save_jobs(all);
      } catch (const std::exception& e) {  // a full or read-only state disk must not stop the jobs
        std::fprintf(log, "mos_volmgrd: warning: job state not saved: %s\n", printable_text(e.what()).c_str());
      }
    });
  }
  engine::Context ctx;
  ctx.state = state ? &*state : nullptr;
  ctx.policy = engine::Policy::from_globs(options.allow_devices);
  ctx.run_dir = options.run_dir;
  if (!options.mount_prefixes.empty()) ctx.mount_prefixes = options.mount_prefixes;
  ctx.extra_mount_fstypes = options.mount_fstypes;
  ctx.volumes_dir = options.volumes_dir;
  ctx.volumes_classic_qgroups = options.volumes_classic_qgroups;
  ctx.jobs = &jobs;
  ctx.events = &events;
  ctx.inventory = &inventory;
  engine::health::HealthPoller::Sources health_sources;
  health_sources.list_disks = [&inventory] {
    std::vector<std::string> disks;
    for (const auto& d : inventory.snapshot()->devices)
      if (d.kind != "partition") disks.push_back(d.path);
    return disks;
  };
  health_sources.reader = options.health_reader;
  health_sources.after_pass = [&inventory] { inventory.refresh_health(); };
  engine::health::HealthPoller health_poller(health, ctx.policy, &events, std::move(health_sources),
                                             std::chrono::seconds(options.health_interval_seconds));
  // `plain` stays alive: rpc.discover documents the registry it was registered in.
  const Registry plain = make_registry();
  Registry registry = invalidating_after_mutations(plain, inventory);
  ServerOptions server_options;
  server_options.socket_path = options.socket_path;
  server_options.workers = options.workers;
  server_options.handle_signals = true;
  server_options.limits = options.limits;
  server_options.socket_mode = options.socket_mode;
  server_options.socket_group = options.socket_group;
  server_options.admin_group = options.admin_group;
  server_options.audit = options.log;
  server_options.log = log;
  Server server(server_options, registry, ctx);
  server.listen();
  if (options.log)
    std::fprintf(options.log, "mos_volmgrd: listening on %s (%zu methods)\n", options.socket_path.c_str(),
                 registry.methods().size());
  server.run();
  if (!server.abandoned().empty()) {
    // Request workers stuck in the kernel (logged by the server) cannot be joined: the process
    // exits without them, and the kernel releases their descriptors and claims when they return.
    std::fflush(log);
    _exit(kExitAbandoned);
  }
  // Job workers blocked in the kernel would hang the scheduler's destructor (below) the same way,
  // and so would the inventory monitor's periodic probe of a device that does not answer (a
  // suspended dm device): the rest of the shutdown is bounded whatever is running.
  std::string unfinished;
  for (const auto& j : jobs.list())
    if (j.active()) unfinished += (unfinished.empty() ? "" : ", ") + j.kind + " " + j.target + " (job " + std::to_string(j.id) + ")";
  watchdog.arm(options.limits.shutdown_timeout_seconds,
               unfinished.empty() ? "the inventory monitor (a device probe)" : "jobs " + unfinished, log);
  if (options.log) std::fprintf(options.log, "mos_volmgrd: shut down\n");
}

}  // namespace mos::rpc
