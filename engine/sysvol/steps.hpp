// Internal to mos_sysvol's run: the shared reporter and the two paths (bring up existing MOS
// storage; provision a fresh node), one file each.
#pragma once
#include <string>
#include <vector>

#include "base/safe_text.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/sysvol/layout.hpp"
#include "engine/sysvol/record.hpp"
#include "engine/sysvol/config.hpp"
#include "engine/sysvol/run.hpp"

namespace mos::engine::sysvol {

// Appends to the report and logs the same line.
class Reporter {
 public:
  Reporter(Report& r, const LogFn& log) : r_(r), log_(log) {}
  void info(const std::string& line) { emit(6, line); }
  void done(const std::string& line) { r_.done.push_back(line); emit(6, line); }
  void skip(const std::string& what, const std::string& why) { r_.skipped.push_back({what, why}); emit(6, "skipped " + what + ": " + why); }
  void warn(const std::string& line) { r_.warnings.push_back(line); emit(4, "WARNING: " + line); }
  void error(const std::string& line) { r_.errors.push_back(line); emit(3, "ERROR: " + line); }
  // Loud on the console (error level), listed in the report, never an error by itself: what it
  // takes out of service is said with out_of_service.
  void damaged(const Damage& d);
  void out_of_service(const std::string& what) { r_.not_in_service.push_back(what); }
  Report& report() { return r_; }

 private:
  // Lines carry labels, paths and error text from disks and sysfs: one console/kmsg line each,
  // through the text boundary (the report keeps the raw text; its JSON goes through json_text).
  void emit(int level, const std::string& line) { log_(level, printable_text(line)); }

  Report& r_;
  const LogFn& log_;
};

// MOS devices among the allowed ones, by label and filesystem type.
struct Found {
  std::vector<Device> efi, boot, swap, data;  // MOSEFI vfat, MOSBOOT ext4, MOSSWAP swap, MOSDATA btrfs
  std::vector<Device> md_members;             // linux_raid_member on mosefi/mosboot partitions
  std::vector<std::string> ignored;           // MOS-labelled devices may_serve_mos_role refused, with why
  bool any() const { return !efi.empty() || !boot.empty() || !swap.empty() || !data.empty() || !md_members.empty(); }
};

// Every block device from sysfs; content (signatures, GPT names) read only for the allowed ones:
// mos_sysvol reads no device the policy does not name.
std::vector<Device> discover_allowed(const Policy& policy);
Found find_mos_storage(const std::vector<Device>& all, const Policy& policy, const Config& cfg);
json found_json(const Found& f);

// Existing storage: the one installation among what was found (two are refused unless
// [storage] data_fsid names one), its GPT copies and partitions checked, damage reported (and
// repaired where [recovery] allows), then bring_up of what can be used (engine/sysvol/health.cpp).
void existing_boot(const std::vector<Device>& all, const std::vector<MosDisk>& mos_disks, const Found& found,
                   const Config& cfg, const RunOptions& opts, Reporter& rep);

// One warning per disk carrying an unfinished disk replacement (engine/sysvol/replacement.cpp).
void report_unfinished_replacement(const std::vector<MosDisk>& disks, Reporter& rep);

// Later boots (and the end of a first boot): btrfs scan, subvolumes, mounts, swapon, dirs; what
// is there is brought up even when something else is missing. Fills ready/degraded.
void bring_up(const Found& found, const Config& cfg, const RunOptions& opts, Reporter& rep);

// What a first boot does for one partition of the layout: nothing (its record says done), only
// clear its record (the format is there: recognised as ours), or format it and clear its record.
enum class StepAction { skip, clear, format };
struct Step {
  uint32_t number = 0;  // partition number in the layout (2..5)
  StepAction action = StepAction::format;
};
// The same on two disks: the mirrored steps (md for efi and boot, btrfs RAID1 for data) format
// both halves or neither; swap is per disk. The record is cleared on each disk that holds it.
struct DualStep {
  uint32_t number = 0;
  bool format[2] = {true, true};
  bool clear[2] = {true, true};
};

// First boot on blank disks: the GPT with the provisioning record, then every step (format,
// flush, clear its record), each behind named crash points.
void provision(const std::vector<Device>& disks, const Config& cfg, const RunOptions& opts, Reporter& rep);
// The steps of one disk in layout order (fresh and resumed first boots alike).
void run_steps(const std::string& disk, const std::vector<Step>& steps, const Context& ctx, Reporter& rep);

// Two disks: the layout on both, md RAID1 for mosefi (0.90) and mosboot (1.2), swap on each,
// btrfs RAID1 over the mosdata pair (engine/sysvol/dual.cpp).
void provision_dual(const std::vector<Device>& disks, const Config& cfg, const RunOptions& opts, Reporter& rep);
void run_dual_steps(const std::vector<std::string>& disks, const std::vector<DualStep>& steps, const RunOptions& opts,
                    Reporter& rep);
// Loads md_mod + raid1 (a node that uses md).
void load_raid_modules(const RunOptions& opts, Reporter& rep);

// A first boot the provisioning record says is unfinished: only its pending steps are done, each
// after its partition was classified (engine/sysvol/resume.cpp). Writes nothing when anything
// found contradicts the record.
void resume(const std::vector<MosDisk>& recorded, const std::vector<Device>& all, const Config& cfg,
            const RunOptions& opts, Reporter& rep);
// Assembles the md arrays whose members were found (degraded when a member is missing: said loudly).
// What to do with a member md leaves out as stale (older events than the array's).
enum class StaleMember { leave_out, re_add };
// re_add: only after a first boot of ours (fresh or resumed), where the provisioning record proves
// every member ours: a power loss left one member's superblock older; it is added back and the
// kernel resyncs it from the fresh one. A later boot leaves it out (degraded): adding is explicit.
void assemble_md(const Found& found, const RunOptions& opts, Reporter& rep, StaleMember stale = StaleMember::leave_out);
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
