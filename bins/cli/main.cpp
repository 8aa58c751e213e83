// mos-volmgr: CLI client of mos_volmgrd. Every command accepts --json; errors are one line on
// stderr with a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bins/cli/env.hpp"
#include "bins/version.hpp"
#include "ioctl/error.hpp"
#include "rpc/client.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mos-volmgr: query and manage node storage through mos_volmgrd"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--json, --socket) are accepted after the subcommand too
  mos::cli::Env env;
  std::string socket;
  app.add_option("--socket", socket, "daemon socket (default: $MOS_VOLMGR_SOCKET or /run/mos_volmgrd/mos_volmgrd.sock)");
  app.add_flag("--json", env.json_output, "print the RPC result as JSON");
  app.set_version_flag("--version", "mos-volmgr " MOS_VERSION);

  mos::cli::add_inventory_commands(app, env);
  mos::cli::add_partition_commands(app, env);
  mos::cli::add_fs_commands(app, env);
  mos::cli::add_bulk_commands(app, env);
  mos::cli::add_btrfs_commands(app, env);
  mos::cli::add_raid_commands(app, env);
  mos::cli::add_watch_commands(app, env);
  mos::cli::add_topology_commands(app, env);
  mos::cli::add_completion_command(app, env);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  env.socket = mos::rpc::default_socket_path(socket);
  try {
    if (env.action) env.action();
  } catch (const mos::Error& e) {
    std::fprintf(stderr, "mos-volmgr: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos-volmgr: %s\n", e.what());
    return 1;
  }
  return 0;
}
