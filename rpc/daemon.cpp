#include "rpc/daemon.hpp"

#include <pthread.h>
#include <signal.h>

#include "engine/context.hpp"
#include "engine/events.hpp"
#include "engine/inventory_cache.hpp"
#include "engine/jobs.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"

namespace mos::rpc {
namespace {

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
  engine::InventoryCache inventory(&events, {std::chrono::milliseconds(options.inventory_revalidate_ms), true});
  ctx.inventory = &inventory;
  // `plain` stays alive: rpc.discover documents the registry it was registered in.
  const Registry plain = make_registry();
  Registry registry = invalidating_after_mutations(plain, inventory);
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
