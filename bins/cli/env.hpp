// Shared plumbing of CLI commands: the RPC connection, --json output, job waits (tables and
// sizes: bins/cli/table.hpp).
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bins/cli/table.hpp"

namespace mos::rpc { class Client; }

namespace mos::cli {

using json = nlohmann::json;

struct Env {
  std::string socket;  // from --socket / MOS_VOLMGR_SOCKET / default
  bool json_output = false;
  std::function<void()> action;  // set by the chosen subcommand's callback

  // One RPC call; errors throw mos::Error (printed by main as one line).
  json call(const std::string& method, const json& params = json::object());
  // Prints the result as JSON when --json, otherwise calls human(result).
  void print(const json& result, const std::function<void(const json&)>& human);
  // Polls storage.jobs until the job ends, drawing a progress bar on a terminal (not with
  // --json or when stdout is not a tty). Returns the final job object.
  json wait_job(uint64_t id, const std::string& title);
  // Runs a long method: background:true, then wait_job; returns the job's result or throws
  // with the job's error.
  json run_long(const std::string& method, json params, const std::string& title);
  // The connection (opened on first use), for commands that read notifications.
  rpc::Client& client();

 private:
  std::unique_ptr<rpc::Client> client_;
};

// A write plan (the "plan" of every writing method) as a table: one row per zeroed or written range.
void print_write_plan(const json& plan);

// One registration function per command area (cli/commands_<area>.cpp).
void add_inventory_commands(CLI::App& app, Env& env);
void add_partition_commands(CLI::App& app, Env& env);
void add_fs_commands(CLI::App& app, Env& env);
void add_bulk_commands(CLI::App& app, Env& env);
void add_btrfs_commands(CLI::App& app, Env& env);
void add_raid_commands(CLI::App& app, Env& env);
void add_watch_commands(CLI::App& app, Env& env);
void add_topology_commands(CLI::App& app, Env& env);
void add_health_commands(CLI::App& app, Env& env);
void add_volume_commands(CLI::App& app, Env& env);
void add_replace_commands(CLI::App& app, Env& env);
// Last: it lists every command registered before it.
void add_completion_command(CLI::App& app, Env& env);

// md arrays as a table (raids, status).
void print_raids(const json& arrays);

}  // namespace mos::cli
