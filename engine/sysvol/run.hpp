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

// Something of the layout found damaged: what, where, which copy is valid, the repair.
struct Damage {
  std::string device;  // the partition, md device or (for a GPT copy) the disk
  std::string part;    // what it should be: "MOSDATA (btrfs)", "GPT primary header and entries"
  std::string reason;  // what is wrong and which copy is valid
  std::string repair;  // the exact command that repairs it; "" when none is known
  std::string action;  // "reported" | "repaired" | "repair failed: ..." | "repair not available: ..."
};
void to_json(json& j, const Damage& d);

struct Report {
  std::string mode = "none";         // existing | fresh | resume | none
  json found = json::array();        // MOS devices found (path, label, fstype, partlabel)
  json plan = json::array();         // what a first boot writes (also filled by --dry-run)
  std::vector<std::string> done;     // every action taken, in order
  std::vector<Skipped> skipped;      // not done, and why (disks unused, features off, dry run)
  std::vector<std::string> warnings;
  std::vector<std::string> errors;   // anything that keeps storage from being ready
  std::vector<Damage> damage;        // damaged parts of the layout (repaired ones included)
  // What of the layout is not in service: damaged and unrepaired parts, missing mirror halves.
  std::vector<std::string> not_in_service;
  std::string recovery = "report";   // [recovery] superblocks in effect
  bool degraded = false;
  bool ready = false;
  bool dry_run = false;
};
void to_json(json& j, const Report& r);

// Human output: one line per event, as it happens.
using LogFn = std::function<void(int kmsg_level, const std::string& line)>;

// Never throws for storage problems: they end in report.errors and ready=false.
Report run(const RunOptions& opts, const LogFn& log);

// mos_sysvol's exit status: 0 ready and everything of the layout in service; 2 ready (every
// configured mount point mounted) while something of the layout is not in service (degraded,
// a damaged copy or partition reported); 1 not ready. A dry run: 0 when a plan could be made.
inline constexpr int kExitReady = 0, kExitNotReady = 1, kExitNotWhole = 2;
int exit_status(const Report& r);

}  // namespace mos::engine::sysvol
