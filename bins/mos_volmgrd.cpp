// mos_volmgrd: the storage daemon. JSON-RPC 2.0 over a Unix socket; all work in-process.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "engine/context.hpp"
#include "engine/jobs.hpp"
#include "ioctl/error.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mos_volmgrd: MOS volume manager daemon (JSON-RPC 2.0 over a Unix socket)"};
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  std::string allow = "";
  std::string run_dir = "/run/mos_volmgrd";
  unsigned workers = 8;
  app.add_option("--socket", socket_path, "Unix socket path")->capture_default_str();
  app.add_option("--allow-devices", allow,
                 "Comma-separated globs of devices mutating methods may touch (default: all)");
  app.add_option("--run-dir", run_dir, "Runtime directory (private mounts)")->capture_default_str();
  app.add_option("--workers", workers, "Request worker threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken through signalfd by the server loop; block them in every thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    mos::engine::Jobs jobs;
    mos::engine::Context ctx;
    ctx.policy = mos::engine::Policy::from_globs(allow);
    ctx.run_dir = run_dir;
    ctx.jobs = &jobs;
    mos::rpc::Registry registry = mos::rpc::make_registry();
    mos::rpc::ServerOptions opts;
    opts.socket_path = socket_path;
    opts.workers = workers;
    opts.handle_signals = true;
    mos::rpc::Server server(opts, registry, ctx);
    std::fprintf(stderr, "mos_volmgrd: listening on %s (%zu methods)\n", socket_path.c_str(),
                 registry.methods().size());
    server.run();
    std::fprintf(stderr, "mos_volmgrd: shut down\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos_volmgrd: %s\n", e.what());
    return 1;
  }
  return 0;
}
