// mos_sysvol on existing storage: the one installation among what was found, its GPT copies and
// every partition of its layout checked before anything is mounted; damage is reported loudly
// (what, where, which copy is valid, the command that repairs it), repaired only where
// [recovery] allows, never formatted; what can be used is brought up, degraded where it is.
#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "engine/sysvol/classify.hpp"
#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/installations.hpp"
#include "engine/sysvol/recovery.hpp"
#include "engine/sysvol/steps.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

// A damaged GPT copy: the kernel and every tool read the other one, so nothing stops; the copy
// is rewritten only when [recovery] says so.
bool check_table(const MosDisk& m, const Config& cfg, const RunOptions& opts, const Context& ctx, Reporter& rep) {
  if (m.primary_ok && m.backup_ok) return false;
  const bool primary = !m.primary_ok;
  Damage d;
  d.device = m.disk.path;
  d.part = std::string("GPT ") + (primary ? "primary" : "backup") + " header and entries";
  d.reason = (primary ? m.primary_error : m.backup_error) + "; the " + (primary ? "backup" : "primary") +
             " copy is valid (header and entry CRCs hold)";
  d.repair = "mos-volmgr repair-partition-table --disk " + m.disk.path;
  bool repaired = false;
  if (may_repair_table(cfg, m) && !opts.dry_run) {
    RepairOutcome o = repair_table_copy(m.disk.path, ctx);
    repaired = o.repaired;
    d.action = (o.repaired ? "repaired: " : "repair failed: ") + o.detail;
  } else {
    d.action = "reported";
  }
  rep.damaged(d);
  if (!repaired) rep.out_of_service(d.part + " of " + m.disk.path);
  return repaired;
}

// One filesystem partition of the layout. Returns whether it was repaired (and must be probed
// again); adds it to `excluded` when it must not be used.
bool check_partition(const MosDisk& m, uint32_t number, const Config& cfg, const RunOptions& opts, const Context& ctx,
                     Reporter& rep, std::set<std::string>& excluded) {
  const PlannedPartition& p = layout_partition(number);
  const std::string dev = m.partition_path(number);
  ContentVerdict v = classify_device(dev, p.fstype, p.label);
  const bool md_member = v.fstype == "linux_raid_member" && (step_name(p) == "efi" || step_name(p) == "boot");
  if (v.state == ContentState::ours || md_member) return false;  // an md member's content is judged on its array
  Damage d;
  d.device = dev;
  d.part = expected_text(p.fstype, p.label);
  if (v.state == ContentState::never_written) {
    d.reason = "reads as never written, yet no provisioning record says a first boot left it unformatted: "
               "its filesystem is gone";
    d.repair = "restore it from a backup, or (its data lost) mos-volmgr create-filesystem --device " + dev +
               " --fstype " + p.fstype + " --label " + p.label;
  } else {
    d.reason = verdict_reason(dev, v);
    d.repair = v.repair;
  }
  bool repaired = false;
  if (may_repair_superblock(cfg, p.fstype, v) && !opts.dry_run) {
    RepairOutcome o = repair_superblock_from_copy(dev, ctx);
    repaired = o.repaired && classify_device(dev, p.fstype, p.label).state == ContentState::ours;
    d.action = o.repaired ? (repaired ? "repaired: " : "repaired, yet still not recognised: ") + o.detail
                          : "repair not done: " + o.detail;
  } else {
    d.action = "reported";
  }
  rep.damaged(d);
  if (!repaired) {
    excluded.insert(dev);
    rep.out_of_service(d.part + " on " + dev);
  }
  return repaired;
}

// The whole disks next to a degraded node that are blank: never added by mos_sysvol (adding a
// member is an explicit operation), said so.
void report_blank_disks(const std::vector<Device>& all, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  Selection sel = select_disks(gather_disk_facts(all, opts.policy, cfg), cfg);
  std::vector<std::string> blank;
  for (const auto& d : sel.chosen) blank.push_back(d.path);
  for (const auto& u : sel.unused) blank.push_back(u.path);
  for (const auto& b : blank)
    rep.skip(b, "blank disk next to degraded MOS storage: mos_sysvol never provisions or adds a disk to existing storage; "
                "add it explicitly (create the layout, then mos-volmgr raid-add and btrfs device add/replace)");
}

Found rescan(const Installation& inst, const Config& cfg, const RunOptions& opts, const std::set<std::string>& excluded,
             std::vector<Device>* all_out = nullptr) {
  std::vector<Device> all = discover_allowed(md_policy(opts.policy));
  Found f = restrict_found(find_mos_storage(all, md_policy(opts.policy), cfg), inst.disks, excluded);
  if (all_out) *all_out = std::move(all);
  return f;
}

// A two-disk node's disk none of whose md members is in an array (all left out as stale) and which
// holds no MOSDATA device is out of the node: e.g. the disk `replace-disk --failed` replaced, still
// attached. Its swap is not used (a failing disk; the node has a swap on each disk in service).
void leave_out_retired_swap(Found& found, Reporter& rep) {
  auto in_service = [&](const std::string& disk) {
    for (const auto& d : found.data)
      if (d.parent == disk) return true;
    bool has_members = false;
    for (const auto& m : found.md_members) {
      if (m.parent != disk) continue;
      has_members = true;
      if (!m.holders.empty()) return true;
    }
    return !has_members;  // no md members: not a two-disk node's disk, judged elsewhere
  };
  std::erase_if(found.swap, [&](const Device& s) {
    if (!s.parent || in_service(*s.parent)) return false;
    rep.warn("not swapped on: " + s.path + ": its disk " + *s.parent +
             " is out of the node (its md members are left out and it holds no MOSDATA device)");
    return true;
  });
}

}  // namespace

void existing_boot(const std::vector<Device>& all, const std::vector<MosDisk>& mos_disks, const Found& found_all,
                   const Config& cfg, const RunOptions& opts, Reporter& rep) {
  Report& report = rep.report();
  report.mode = "existing";
  auto inst = pick_installation(group_installations(mos_disks, found_all), cfg, rep);
  if (!inst) return;
  rep.info("existing MOS storage on " + inst->describe());
  const Context ctx = engine_context(opts);
  std::set<std::string> excluded;
  bool repaired = false;
  for (const auto& m : mos_disks) {
    if (!inst->disks.count(m.disk.path)) continue;
    repaired = check_table(m, cfg, opts, ctx, rep) || repaired;
    // Our table's partitions the kernel does not know yet (BLKPG only): their content is judged.
    if (!opts.dry_run && kernel_partitions(m.disk.name).size() != m.table.entries.size())
      sync_kernel_partitions(m.disk.path, ctx);
    for (uint32_t n = 1; n <= m.table.entries.size(); ++n)
      if (!layout_partition(n).fstype.empty()) repaired = check_partition(m, n, cfg, opts, ctx, rep, excluded) || repaired;
  }
  std::vector<Device> now = all;
  Found found = repaired ? rescan(*inst, cfg, opts, excluded, &now) : restrict_found(found_all, inst->disks, excluded);
  if (!found.md_members.empty()) {
    excluded.merge(assemble_md(found, opts, rep));
    found = rescan(*inst, cfg, opts, excluded, &now);
    if (!opts.dry_run) leave_out_retired_swap(found, rep);
  }
  bring_up(found, cfg, opts, rep);
  if (report.degraded && !opts.dry_run) report_blank_disks(now, cfg, opts, rep);
}

}  // namespace mos::engine::sysvol
