// mos_sysvol's whole boot-time job in-process: configuration, modules, existing MOS storage
// (assemble, mount, swapon, subvolumes, dirs) or a fresh node (select blank disks, partition,
// format, then as for existing storage), a report and a "ready" verdict.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/json.hpp"

namespace mos::engine::sysvol {

struct RunOptions {
  std::string config_path = "/etc/mos_sysvol.toml";
  std::string cmdline_path = "/proc/cmdline";
  std::string root;          // prefix of every mount point and [[dirs]] path ("" = the real root)
  Policy policy;             // --allow-devices: the only devices read or written
  bool dry_run = false;      // print the plan, write nothing, mount nothing
  bool load_modules = true;  // false: --no-modules (host tests must not load into the host kernel)
  std::string modules_dir;   // default /lib/modules/$(uname -r)
};

struct Skipped {
  std::string what;
  std::string why;
};

struct Report {
  std::string mode = "none";         // existing | fresh | resume | none
  json found = json::array();        // MOS devices found (path, label, fstype, partlabel)
  json plan = json::array();         // what a first boot writes (also filled by --dry-run)
  std::vector<std::string> done;     // every action taken, in order
  std::vector<Skipped> skipped;      // not done, and why (disks unused, features off, dry run)
  std::vector<std::string> warnings;
  std::vector<std::string> errors;   // anything that keeps storage from being ready
  bool degraded = false;
  bool ready = false;
  bool dry_run = false;
};
void to_json(json& j, const Report& r);

// Human output: one line per event, as it happens.
using LogFn = std::function<void(int kmsg_level, const std::string& line)>;

// Never throws for storage problems: they end in report.errors and ready=false.
Report run(const RunOptions& opts, const LogFn& log);

}  // namespace mos::engine::sysvol
