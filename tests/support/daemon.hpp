// The real daemon (full method registry) in a sandboxed child on a temporary socket;
// SIGTERM shuts it down through signalfd.
#pragma once
#include <signal.h>

#include <memory>
#include <string>

#include "engine/context.hpp"
#include "engine/jobs.hpp"
#include "rpc/registry.hpp"
#include "rpc/server.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

struct DaemonUnderTest {
  TempDir dir;
  std::string sock = dir / "d.sock";
  std::unique_ptr<SandboxedChild> child;

  explicit DaemonUnderTest(const std::string& allow = "/dev/loop*") {
    std::string s = sock;
    child = std::make_unique<SandboxedChild>([s, allow] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGINT);
      pthread_sigmask(SIG_BLOCK, &set, nullptr);
      signal(SIGPIPE, SIG_IGN);
      engine::Jobs jobs;
      engine::Context ctx;
      ctx.policy = engine::Policy::from_globs(allow);
      ctx.jobs = &jobs;
      rpc::Registry reg = rpc::make_registry();
      rpc::ServerOptions opts;
      opts.socket_path = s;
      opts.handle_signals = true;
      rpc::Server server(opts, reg, ctx);
      server.run();
      return 0;
    });
    EXPECT_TRUE(wait_for_path(sock)) << "daemon did not bind " << sock;
  }
};

}  // namespace mos::test
