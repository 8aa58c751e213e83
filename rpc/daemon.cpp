#include "rpc/daemon.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>

#include "engine/context.hpp"
#include "engine/events.hpp"
#include "engine/jobs.hpp"
#include "engine/state_store.hpp"
#include "ioctl/error.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"

namespace mos::rpc {

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

  std::FILE* log = options.log ? options.log : stderr;
  engine::EventBus events;  // outlives the scheduler, which publishes until it ends
  std::optional<engine::StateStore> state;
  if (!options.state_dir.empty()) state.emplace(options.state_dir, log);
  engine::JobsOptions job_options;
  job_options.workers = options.job_workers;
  job_options.queue_limit = options.job_queue;
  job_options.history_limit = options.job_history;
  job_options.history_seconds = options.job_history_seconds;
  engine::Jobs jobs(job_options, &events);
  if (state) {
    jobs.restore(state->load_jobs());
    jobs.set_observer([&state, log](const std::vector<engine::JobInfo>& all) {
      try {
        state->save_jobs(all);
      } catch (const Error& e) {  // a full or read-only state disk must not stop the jobs
        std::fprintf(log, "mos_volmgrd: warning: job state not saved: %s\n", e.what());
      }
    });
  }
  engine::Context ctx;
  ctx.state = state ? &*state : nullptr;
  ctx.policy = engine::Policy::from_globs(options.allow_devices);
  ctx.run_dir = options.run_dir;
  ctx.jobs = &jobs;
  ctx.events = &events;
  Registry registry = make_registry();
  ServerOptions server_options;
  server_options.socket_path = options.socket_path;
  server_options.workers = options.workers;
  server_options.handle_signals = true;
  server_options.limits = options.limits;
  server_options.socket_mode = options.socket_mode;
  server_options.socket_group = options.socket_group;
  server_options.admin_group = options.admin_group;
  server_options.audit = options.log;
  Server server(server_options, registry, ctx);
  server.listen();
  if (options.log)
    std::fprintf(options.log, "mos_volmgrd: listening on %s (%zu methods)\n", options.socket_path.c_str(),
                 registry.methods().size());
  server.run();
  if (options.log) std::fprintf(options.log, "mos_volmgrd: shut down\n");
}

}  // namespace mos::rpc
