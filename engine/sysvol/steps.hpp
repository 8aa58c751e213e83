// Internal to mos_sysvol's run: the shared reporter and the two paths (bring up existing MOS
// storage; provision a fresh node), one file each.
#pragma once
#include <string>
#include <vector>

#include "engine/inventory/devices.hpp"
#include "engine/sysvol/config.hpp"
#include "engine/sysvol/run.hpp"

namespace mos::engine::sysvol {

// Appends to the report and logs the same line.
class Reporter {
 public:
  Reporter(Report& r, const LogFn& log) : r_(r), log_(log) {}
  void info(const std::string& line) { log_(6, line); }
  void done(const std::string& line) { r_.done.push_back(line); log_(6, line); }
  void skip(const std::string& what, const std::string& why) { r_.skipped.push_back({what, why}); log_(6, "skipped " + what + ": " + why); }
  void warn(const std::string& line) { r_.warnings.push_back(line); log_(4, "WARNING: " + line); }
  void error(const std::string& line) { r_.errors.push_back(line); log_(3, "ERROR: " + line); }
  Report& report() { return r_; }

 private:
  Report& r_;
  const LogFn& log_;
};

// MOS devices among the allowed ones, by label and filesystem type.
struct Found {
  std::vector<Device> efi, boot, swap, data;  // MOSEFI vfat, MOSBOOT ext4, MOSSWAP swap, MOSDATA btrfs
  std::vector<Device> md_members;             // linux_raid_member on mosefi/mosboot partitions
  bool any() const { return !efi.empty() || !boot.empty() || !swap.empty() || !data.empty() || !md_members.empty(); }
};

// Every block device from sysfs; content (signatures, GPT names) read only for the allowed ones:
// mos_sysvol reads no device the policy does not name.
std::vector<Device> discover_allowed(const Policy& policy);
Found find_mos_storage(const std::vector<Device>& all, const Policy& policy);
json found_json(const Found& f);

// Later boots (and the end of a first boot): md assembly, btrfs scan, subvolumes, mounts,
// swapon, dirs. Fills ready/degraded.
void bring_up(const Found& found, const Config& cfg, const RunOptions& opts, Reporter& rep);

// nullopt when `disk` carries only our own half-made layout (our GPT names and types, each
// partition blank or holding the filesystem we put there); otherwise why it is not ours.
std::optional<std::string> half_made_reason(const Device& disk, const std::vector<Device>& all);

// First boot on one (or two) disks: GPT, filesystems, each step behind a named crash point.
// `resume`: the disks carry our half-made layout and are rewritten from the start.
void provision(const std::vector<Device>& disks, bool resume, const Config& cfg, const RunOptions& opts, Reporter& rep);

// Two disks: the layout on both, md RAID1 for mosefi (0.90) and mosboot (1.2), swap on each,
// btrfs RAID1 over the mosdata pair (engine/sysvol/dual.cpp).
void provision_dual(const std::vector<Device>& disks, bool resume, const Config& cfg, const RunOptions& opts,
                    Reporter& rep);
// Assembles the md arrays whose members were found (degraded when a member is missing: said loudly).
void assemble_md(const Found& found, const RunOptions& opts, Reporter& rep);
// The policy plus our md devices (/dev/md_mosefi, /dev/md_mosboot and their /dev/md/ links); an
// md device stays refused unless its members (sysfs slaves) are allowed too.
Policy md_policy(const Policy& p);

// The plan of a first boot on these disks, for the report and --dry-run.
json plan_json(const std::vector<Device>& disks, const Config& cfg);

// Context for engine calls: the policy, a run directory under the root prefix.
Context engine_context(const RunOptions& opts);
// The same with the mount prefixes mos_sysvol mounts under (root, or the configured points).
Context mount_context(const Config& cfg, const RunOptions& opts);

}  // namespace mos::engine::sysvol
