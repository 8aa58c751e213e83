// health [DISK]: the SMART / NVMe verdict of one disk, or of every disk the daemon lists.
#include <memory>

#include "base/error.hpp"
#include "bins/cli/env.hpp"

namespace mos::cli {
namespace {

std::string joined_reasons(const json& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += "; ";
    out += r.is_string() ? r.get<std::string>() : std::string("?");
  }
  return out.empty() ? "-" : out;
}

void print_health(const json& disks) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& h : disks) {
    std::string temp = h["temperature_celsius"].is_number() ? cell(h["temperature_celsius"]) + " C" : "-";
    std::string wear = h["percentage_used"].is_number() ? cell(h["percentage_used"]) + "%" : "-";
    rows.push_back({cell(h["disk"]), cell(h["transport"]), cell(h["status"]), temp, wear, joined_reasons(h["reasons"])});
  }
  print_table({"DISK", "TRANSPORT", "STATUS", "TEMP", "WEAR", "REASONS"}, rows);
}

}  // namespace

void add_health_commands(CLI::App& app, Env& env) {
  struct Args {
    std::string disk;
    bool wake = false;
  };
  auto args = std::make_shared<Args>();
  auto* h = app.add_subcommand("health", "SMART / NVMe health verdict: ok, warning, failing or unknown, with reasons");
  h->add_option("disk", args->disk, "one disk (default: every disk)");
  h->add_flag("--wake", args->wake, "read a disk in standby too (spins it up)");
  h->callback([&env, args] {
    env.action = [&env, args] {
      json out = json::array();
      if (!args->disk.empty()) {
        out.push_back(env.call("storage.disk_health", {{"disk", args->disk}, {"wake", args->wake}}));
      } else {
        for (const auto& d : env.call("storage.list_disks")) {
          if (!d.contains("path") || !d["path"].is_string()) continue;
          // A disk the daemon refuses (policy) is a row with its error, not the end of the list.
          try {
            out.push_back(env.call("storage.disk_health", {{"disk", d["path"]}, {"wake", args->wake}}));
          } catch (const Error& e) {
            out.push_back({{"disk", d["path"]}, {"transport", nullptr}, {"status", "error"}, {"reasons", {e.what()}},
                           {"temperature_celsius", nullptr}, {"percentage_used", nullptr}});
          }
        }
      }
      env.print(args->disk.empty() ? out : out[0], [&](const json&) { print_health(out); });
    };
  });
}

}  // namespace mos::cli
