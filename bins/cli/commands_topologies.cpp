// topologies: the seed's storage templates judged against the free disks and the kernel.
#include <cstdio>

#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

std::string joined(const json& list, const char* sep) {
  std::string s;
  for (auto& v : list) s += (s.empty() ? "" : sep) + v.get<std::string>();
  return s.empty() ? "-" : s;
}

void print_topologies(const json& r) {
  std::vector<std::vector<std::string>> rows;
  for (auto& t : r["topologies"])
    rows.push_back({t["name"], t["feasible"].get<bool>() ? "yes" : "no", joined(t["disks"], ","),
                    t["feasible"].get<bool>() ? human_size(t["usable_bytes"]) : "-", joined(t["reasons"], "; ")});
  print_table({"TOPOLOGY", "FEASIBLE", "DISKS", "CAPACITY", "WHY"}, rows);
  rows.clear();
  for (auto& c : r["candidates"]) rows.push_back({c["path"], human_size(c["size_bytes"]), c["media"]});
  std::printf("\nFree disks\n");
  if (rows.empty()) std::printf("none\n");
  else print_table({"DISK", "SIZE", "MEDIA"}, rows);
  for (auto& n : r["not_candidates"])
    std::printf("not free: %s: %s\n", shown(n["path"]).c_str(), shown(n["reason"]).c_str());
  std::printf("kernel: btrfs %s, bcachefs %s\n", r["kernel"]["btrfs"].get<bool>() ? "yes" : "no",
              r["kernel"]["bcachefs"].get<bool>() ? "yes" : "no");
}

}  // namespace

void add_topology_commands(CLI::App& app, Env& env) {
  app.add_subcommand("topologies", "which storage topologies the free disks and the kernel allow")->callback([&env] {
    env.action = [&env] { env.print(env.call("storage.feasible_topologies"), print_topologies); };
  });
}

}  // namespace mos::cli
