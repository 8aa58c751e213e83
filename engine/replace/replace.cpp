// storage.replace_disk: plan, refusals, and the run of the unfinished steps.
#include "engine/replace/replace.hpp"

#include "base/error.hpp"
#include "engine/replace/steps.hpp"

namespace mos::engine::replace {

json plan_json(const Node& n, bool dry_run) {
  json layout = json::array();
  for (size_t i = 0; i < n.layout.size(); ++i)
    layout.push_back({{"number", i + 1},
                      {"name", n.layout[i].name},
                      {"type", n.layout[i].part_type},
                      {"start_bytes", n.starts[i]},
                      {"size_bytes", n.layout[i].size_bytes.value_or(0)}});
  json steps = json::array();
  if (n.refusals.empty() || n.survivor)
    for (const auto& v : judge_steps(n.facts)) steps.push_back({{"step", v.step}, {"action", v.action}, {"detail", v.detail}});
  return {{"new", n.new_device.path},
          {"survivor", n.survivor ? json(n.survivor->disk.path) : json(nullptr)},
          {"failed", n.old ? json(n.old->disk.path) : json("missing")},
          {"dry_run", dry_run},
          {"resume", n.facts.gpt_written},
          {"data_mount", n.data_mount.empty() ? json(nullptr) : json(n.data_mount)},
          {"layout", layout},
          {"steps", steps},
          {"refusals", n.refusals},
          {"notes", n.notes},
          {"done", json::array()}};
}

Node replace_check_can_start(const ReplaceRequest& req, const Context& ctx) {
  Node n = read_node(req, ctx);
  if (n.refusals.empty()) return n;
  std::string msg = "replace-disk refused";
  const char* separator = ": ";
  for (const auto& r : n.refusals) {
    msg += separator + r;
    separator = "; ";
  }
  throw Error(ErrorCode::validation, msg, n.new_device.path);
}

json replace_disk(const ReplaceRequest& req, const Context& ctx, const btrfs::ProgressFn& progress, btrfs::CancelFlag cancel) {
  if (req.dry_run) return plan_json(read_node(req, ctx), true);
  Node n = replace_check_can_start(req, ctx);
  auto done = run_steps(n, ctx, progress, cancel);
  // Every step returned: each proved its part done (its record bit cleared last).
  json out = plan_json(n, false);
  for (auto& s : out["steps"]) s["action"] = "done";
  out["done"] = done;
  return out;
}

}  // namespace mos::engine::replace
