// The daemon's RPC server running in a sandboxed child (execve denied) on a private socket,
// with a device policy; killed at scope end.
#pragma once
#include <unistd.h>

#include <memory>
#include <string>

#include "engine/context.hpp"
#include "engine/jobs.hpp"
#include "rpc/client.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

class SandboxedServer {
 public:
  explicit SandboxedServer(const std::string& allow_devices = "/dev/loop*") : socket_(dir_ / "volmgrd.sock") {
    const std::string socket = socket_;
    child_ = std::make_unique<SandboxedChild>([socket, allow_devices] {
      engine::Jobs jobs;
      engine::Context ctx;
      ctx.policy = engine::Policy::from_globs(allow_devices);
      ctx.run_dir = socket + ".run";
      ctx.jobs = &jobs;
      rpc::Registry registry = rpc::make_registry();
      rpc::ServerOptions opts;
      opts.socket_path = socket;
      opts.workers = 2;
      rpc::Server server(opts, registry, ctx);
      server.run();
      return 0;
    });
    ready_ = wait_for_path(socket_);
    // Bound is not yet listening: retry a connection briefly.
    for (int i = 0; ready_ && i < 500; ++i) {
      try {
        rpc::Client probe(socket_);
        return;
      } catch (const std::exception&) {
        usleep(10000);
      }
    }
    ready_ = false;
  }
  const std::string& socket() const { return socket_; }
  bool ready() const { return ready_; }

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<SandboxedChild> child_;
  bool ready_ = false;
};

}  // namespace mos::test
