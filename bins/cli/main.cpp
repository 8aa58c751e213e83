// mos-volmgr: CLI client of mos_volmgrd. Every command accepts --json; errors are one line on
// stderr with a non-zero exit code.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>

#include "bins/cli/env.hpp"
#include "bins/version.hpp"
#include "base/error.hpp"
#include "base/safe_text.hpp"
#include "rpc/client.hpp"

namespace {

using AddFn = void (*)(CLI::App&, mos::cli::Env&);

// Which registration function adds which command, so a command line builds only the group it
// names: setting up all ~55 commands in CLI11 costs about 0.27 ms of a 1.1 ms `mos-volmgr
// disks`. A name missing here (a typo, or a command added without updating the table) makes
// every group register, so a stale table costs time, never a command; the CLI tests run every
// command with MOS_VOLMGR_CLI_CHECK_TABLE=1, which turns such a miss into an error.
struct Group {
  AddFn add;
  std::initializer_list<const char*> commands;
};

const Group kGroups[] = {
    {mos::cli::add_inventory_commands, {"status", "disks", "partitions", "filesystems", "mounts", "discover"}},
    {mos::cli::add_partition_commands,
     {"free-space", "partition-table", "create-partition-table", "create-partition", "delete-partition",
      "resize-partition", "wipe-signatures", "repair-partition-table"}},
    {mos::cli::add_fs_commands, {"create-filesystem", "repair-superblock", "mount", "unmount", "usage"}},
    {mos::cli::add_bulk_commands, {"zero", "checksum", "metrics"}},
    {mos::cli::add_btrfs_commands,
     {"subvolumes", "create-subvolume", "delete-subvolume", "snapshot", "set-quota", "scrub-start", "scrub-status",
      "scrub-cancel", "balance-start", "balance-status", "balance-cancel", "defrag", "resize-max", "add-device",
      "remove-device", "device-stats", "fs-usage", "fs-df", "jobs"}},
    {mos::cli::add_raid_commands, {"create-raid", "assemble-raid", "stop-raid", "raids", "raid-add", "raid-remove"}},
    {mos::cli::add_watch_commands, {"watch"}},
    {mos::cli::add_topology_commands, {"topologies"}},
    {mos::cli::add_health_commands, {"health"}},
    {mos::cli::add_volume_commands, {"volume"}},
    {mos::cli::add_replace_commands, {"replace-disk"}},
};

// The command word of the command line: the first argument that is neither an option nor the
// value of --socket (the only global option with a value); "" when there is none.
std::string command_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] != '-') return a;
  }
  return {};
}

const Group* group_of(const std::string& word) {
  for (const Group& g : kGroups)
    for (const char* c : g.commands)
      if (word == c) return &g;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mos-volmgr: query and manage node storage through mos_volmgrd"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--json, --socket) are accepted after the subcommand too
  mos::cli::Env env;
  std::string socket;
  app.add_option("--socket", socket, "daemon socket (default: $MOS_VOLMGR_SOCKET or /run/mos_volmgrd/mos_volmgrd.sock)");
  app.add_flag("--json", env.json_output, "print the RPC result as JSON");
  app.set_version_flag("--version", "mos-volmgr " MOS_VERSION);

  const std::string word = command_word(argc, argv);
  const Group* only = group_of(word);
  if (!only && !word.empty() && word != "completion" && std::getenv("MOS_VOLMGR_CLI_CHECK_TABLE")) {
    std::fprintf(stderr, "mos-volmgr: command '%s' is missing from the CLI's command table\n", word.c_str());
    return 3;
  }
  if (only) {
    only->add(app, env);
  } else {  // --help, completion (lists every command), or a word no group knows (CLI11 says so)
    for (const Group& g : kGroups) g.add(app, env);
    mos::cli::add_completion_command(app, env);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  env.socket = mos::rpc::default_socket_path(socket);
  try {
    if (env.action) env.action();
  } catch (const mos::Error& e) {
    std::fprintf(stderr, "mos-volmgr: %s\n", mos::printable_text(e.what()).c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mos-volmgr: %s\n", mos::printable_text(e.what()).c_str());
    return 1;
  }
  return 0;
}
