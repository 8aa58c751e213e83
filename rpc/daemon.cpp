#include "rpc/daemon.hpp"

#include <pthread.h>
#include <signal.h>

#include "engine/context.hpp"
#include "engine/events.hpp"
#include "engine/jobs.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"

namespace mos::rpc {

void run_daemon(const DaemonOptions& options) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  engine::Jobs jobs;
  engine::EventBus events;
  engine::Context ctx;
  ctx.policy = engine::Policy::from_globs(options.allow_devices);
  ctx.run_dir = options.run_dir;
  ctx.jobs = &jobs;
  ctx.events = &events;
  Registry registry = make_registry();
  ServerOptions server_options;
  server_options.socket_path = options.socket_path;
  server_options.workers = options.workers;
  server_options.handle_signals = true;
  Server server(server_options, registry, ctx);
  if (options.log)
    std::fprintf(options.log, "mos_volmgrd: listening on %s (%zu methods)\n", options.socket_path.c_str(),
                 registry.methods().size());
  server.run();
  if (options.log) std::fprintf(options.log, "mos_volmgrd: shut down\n");
}

}  // namespace mos::rpc
