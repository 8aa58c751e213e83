// Scenario `rpc`: the daemon against a bare epoll echo server on the same
// kind of socket, 16 and 64 closed-loop clients sending storage.list_disks and storage.inventory
// for a fixed time each: throughput, p50/p99/max latency, errors, daemon RSS idle, before/after
// the load and with 1000 idle connections. Goals: >= 0.5x echo, p99 <= 2 ms at 16 clients,
// 0 errors, RSS growth <= 16 MiB. A --short run has 0.5 s phases and fails only on errors (the
// other goals are figures, which a short run on a busy CI machine does not measure).
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include "bench/bench.hpp"
#include "bench/rpc_load.hpp"

namespace mos::bench {
namespace {

constexpr unsigned kIdleConnections = 1000;

std::string request_line(const std::string& method) {
  return R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":{}})" "\n";
}

nlohmann::json to_json(const LoadResult& r) {
  return {{"requests", r.requests}, {"per_second", r.per_second()}, {"p50_ms", r.p50_ms},
          {"p99_ms", r.p99_ms},     {"max_ms", r.max_ms},           {"errors", r.errors}};
}

}  // namespace

int run_rpc_bench(const Config& cfg) {
  char tmpl[] = "/var/tmp/mos-bench-rpc-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  // 1000 idle connections plus the load: the daemon (our child) inherits the raised limit.
  rlimit nofile{8192, 8192};
  setrlimit(RLIMIT_NOFILE, &nofile);

  EchoServer echo(dir + "/echo.sock");
  wait_listening(dir + "/echo.sock");
  // Reads only: no device is ever written, the policy is the tests' usual one.
  DaemonProcess daemon(dir, "/dev/loop*");
  const std::string daemon_sock = daemon.socket(), echo_sock = dir + "/echo.sock";

  const std::chrono::milliseconds phase(cfg.short_run ? 500 : 3000);
  nlohmann::json report{{"name", "rpc"}, {"phase_seconds", phase.count() / 1000.0}, {"phases", nlohmann::json::array()}};
  uint64_t rss_idle = rss_bytes(daemon.pid());
  run_load(daemon_sock, 4, request_line("storage.inventory"), std::chrono::milliseconds(300), false);  // warm-up
  uint64_t rss_before = rss_bytes(daemon.pid());
  if (!cfg.json)
    std::printf("\nrpc: daemon vs bare epoll echo server, closed-loop clients, %.0f s per phase\n"
                "%-22s %7s %10s %10s %8s %8s %8s %7s %9s\n",
                phase.count() / 1000.0, "method", "clients", "server", "req/s", "p50 ms", "p99 ms", "max ms",
                "errors", "vs echo");
  bool goals = true;
  bool errors = false;  // error answers, or none: broken, not slow
  for (const char* method : {"storage.list_disks", "storage.inventory"}) {
    for (unsigned clients : {16u, 64u}) {
      const std::string line = request_line(method);
      LoadResult e = run_load(echo_sock, clients, line, phase, true);
      LoadResult d = run_load(daemon_sock, clients, line, phase, false);
      errors |= e.errors != 0 || d.errors != 0 || d.requests == 0;
      double ratio = e.per_second() > 0 ? d.per_second() / e.per_second() : 0;
      goals &= ratio >= 0.5 && d.errors == 0 && e.errors == 0 && (clients != 16 || d.p99_ms <= 2.0);
      report["phases"].push_back({{"method", method}, {"clients", clients}, {"echo", to_json(e)},
                                  {"daemon", to_json(d)}, {"daemon_vs_echo", ratio}});
      if (!cfg.json) {
        for (auto [name, r] : {std::pair<const char*, const LoadResult*>{"echo", &e}, {"mos_volmgrd", &d}}) {
          std::printf("%-22s %7u %10s %10.0f %8.3f %8.3f %8.3f %7llu", method, clients, name, r->per_second(),
                      r->p50_ms, r->p99_ms, r->max_ms, static_cast<unsigned long long>(r->errors));
          if (r == &d) std::printf(" %8.2fx", ratio);
          std::printf("\n");
        }
      }
      if (interrupted()) return 1;
    }
  }
  uint64_t rss_after = rss_bytes(daemon.pid());
  uint64_t rss_idle_conns = 0;
  size_t opened = 0;
  {
    IdleConnections idle(daemon_sock, kIdleConnections);
    opened = idle.open();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the daemon accepts them all
    rss_idle_conns = rss_bytes(daemon.pid());
  }
  // Still serving after the idle crowd left?
  LoadResult after = run_load(daemon_sock, 1, request_line("storage.list_disks"), std::chrono::milliseconds(200), false);
  const double growth_mib = (static_cast<double>(rss_after) - static_cast<double>(rss_before)) / (1 << 20);
  errors |= after.errors != 0 || after.requests == 0;
  goals &= growth_mib <= 16 && !errors;
  report["rss"] = {{"idle_mib", rss_idle / 1048576.0},
                   {"before_load_mib", rss_before / 1048576.0},
                   {"after_load_mib", rss_after / 1048576.0},
                   {"growth_mib", growth_mib},
                   {"with_idle_connections_mib", rss_idle_conns / 1048576.0},
                   {"idle_connections", opened}};
  report["goals_met"] = goals;
  if (cfg.json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::printf("daemon RSS: idle %.1f MiB, before load %.1f MiB, after %.1f MiB (growth %.1f MiB), "
                "with %zu idle connections %.1f MiB\n",
                rss_idle / 1048576.0, rss_before / 1048576.0, rss_after / 1048576.0, growth_mib, opened,
                rss_idle_conns / 1048576.0);
    std::printf("goals (>= 0.5x echo, p99 <= 2 ms at 16 clients, 0 errors, growth <= 16 MiB): %s\n",
                goals ? "met" : "NOT met");
  }
  if (errors) return 1;
  return goals || cfg.short_run ? 0 : 3;
}

}  // namespace mos::bench
