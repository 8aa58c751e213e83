// watch: subscribe to the daemon's change events and print them as they come (until Ctrl-C).
#include <ctime>
#include <cstdio>

#include "bins/cli/env.hpp"
#include "base/error.hpp"
#include "engine/json.hpp"
#include "rpc/client.hpp"

namespace mos::cli {

void add_watch_commands(CLI::App& app, Env& env) {
  auto* cmd = app.add_subcommand("watch", "Print storage events (devices, mounts, jobs, raid, health) as they happen");
  auto topics = std::make_shared<std::vector<std::string>>(std::vector<std::string>{"devices", "mounts", "jobs", "raid", "health"});
  cmd->add_option("--topics", *topics, "topics to watch (default: all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"devices", "mounts", "jobs", "raid", "health"}));
  cmd->callback([&env, topics] {
    env.action = [&env, topics] {
      env.call("storage.subscribe", {{"topics", *topics}});
      for (;;) {
        json n = env.client().next_notification();
        if (n.value("method", "") != "storage.event") continue;
        const json& p = n["params"];
        if (env.json_output) {
          std::printf("%s\n", engine::json_text(p).c_str());
        } else {
          std::time_t now = std::time(nullptr);
          char ts[16];
          std::strftime(ts, sizeof ts, "%H:%M:%S", std::localtime(&now));
          std::printf("%s %-12s %-10s %s\n", ts, shown(p.value("topic", json())).c_str(),
                      shown(p.value("kind", json())).c_str(),
                      p.contains("data") ? engine::json_text(p["data"]).c_str() : "");
        }
        std::fflush(stdout);
        if (p.value("topic", "") == "subscription" && p.value("kind", "") == "dropped")
          throw Error(ErrorCode::storage_failed, "the daemon dropped this watch because its output was not read fast enough");
      }
    };
  });
}

}  // namespace mos::cli
