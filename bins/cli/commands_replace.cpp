// replace-disk NEW [--failed OLD] [--dry-run] [--wait]: storage.replace_disk.
#include <memory>

#include "base/error.hpp"
#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

void print_replace(const json& r) {
  if (r["dry_run"].get<bool>()) std::printf("Dry run: nothing written.\n");
  std::printf("New disk %s, survivor %s, replacing %s%s\n", shown(r["new"]).c_str(), shown(r["survivor"]).c_str(),
              shown(r["failed"]).c_str(), r["resume"].get<bool>() ? " (an unfinished replacement: resuming)" : "");
  if (!r["layout"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (auto& p : r["layout"])
      rows.push_back({std::to_string(p["number"].get<int>()), shown(p["name"]), std::to_string(p["start_bytes"].get<uint64_t>()),
                      human_size(p["size_bytes"]), shown(p["type"])});
    print_table({"#", "NAME", "START", "SIZE", "TYPE"}, rows);
  }
  if (!r["steps"].empty()) {
    std::vector<std::vector<std::string>> rows;
    for (auto& s : r["steps"]) rows.push_back({shown(s["step"]), shown(s["action"]), shown(s["detail"])});
    print_table({"STEP", "ACTION", "DETAIL"}, rows);
  }
  for (auto& n : r["notes"]) std::printf("Note: %s\n", shown(n).c_str());
  for (auto& d : r["done"]) std::printf("Done: %s\n", shown(d).c_str());
  for (auto& x : r["refusals"]) std::printf("Refused: %s\n", shown(x).c_str());
}

}  // namespace

void add_replace_commands(CLI::App& app, Env& env) {
  struct Args {
    std::string new_disk, failed = "missing";
    bool dry_run = false, wait = false;
  };
  auto a = std::make_shared<Args>();
  auto* c = app.add_subcommand("replace-disk", "replace the missing or failing disk of a two-disk MOS node by a blank one");
  c->add_option("new", a->new_disk, "the blank new disk")->required();
  c->add_option("--failed", a->failed, "the present member disk to replace (default: the missing one)");
  c->add_flag("--dry-run", a->dry_run, "show the plan (remaining steps, refusals), write nothing");
  c->add_flag("--wait", a->wait, "follow the job with a progress bar until it ends");
  c->callback([&env, a] {
    env.action = [&env, a] {
      json params = {{"new", a->new_disk}, {"failed", a->failed}};
      if (a->dry_run) {
        params["dry_run"] = true;
        json r = env.call("storage.replace_disk", params);
        env.print(r, print_replace);
        if (!r["refusals"].empty()) throw Error(ErrorCode::validation, "replace-disk would be refused: " + shown(r["refusals"][0]));
        return;
      }
      if (a->wait) return env.print(env.run_long("storage.replace_disk", params, "replace-disk " + a->new_disk), print_replace);
      params["background"] = true;
      json r = env.call("storage.replace_disk", params);
      env.print(r, [](const json& j) {
        std::printf("Started job %llu (storage.jobs, mos-volmgr jobs)\n", static_cast<unsigned long long>(j["job_id"].get<uint64_t>()));
      });
    };
  });
}

}  // namespace mos::cli
