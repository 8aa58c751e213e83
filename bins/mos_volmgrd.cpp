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
  app.add_option("--socket", socket_path, "Unix socket path")->capture_default_str();
  app.add_option("--allow-devices", allow,
                 "Comma-separated globs of devices mutating methods may touch (default: all)");
  app.add_option("--run-dir", run_dir, "Runtime directory (private mounts)")->capture_default_str();
  app.add_option("--workers", workers, "Request worker threads")->check(CLI::Range(1u, 64u))->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    mos::rpc::run_daemon({socket_path, allow, run_dir, workers, stderr});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos_volmgrd: %s\n", e.what());
    return 1;
  }
  return 0;
}
