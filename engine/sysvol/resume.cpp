// A first boot the provisioning record says is unfinished. Before any write, every pending
// step's partition is classified: ours (the format completed, its record's clear was lost) →
// only the record is cleared; never written, or holding nothing but what this step itself writes
// (bytes no prober names, our own format half written: the record proves they are ours) → the
// step is redone; anything else (another filesystem, another label) → nothing is written at all.
// Steps the record says are done are never touched.
#include <algorithm>

#include "engine/apply_plan.hpp"
#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "engine/raid/raid.hpp"
#include "engine/sysvol/classify.hpp"
#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/steps.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

// The step may be (re)done over this content: nothing, or only what the step itself writes.
bool only_our_partial_writes(const ContentVerdict& v, const PlannedPartition& p) {
  if (v.state == ContentState::never_written) return true;
  if (v.state != ContentState::damaged) return false;
  if (v.fstype.empty()) return true;  // bytes no prober names: the format's own, half written
  return v.fstype == p.fstype && (v.label.empty() || v.label == p.label);
}

// Why the record cannot be trusted for this partition ("" when the step may go on).
std::string refusal(const std::string& device, const ContentVerdict& v, const PlannedPartition& p) {
  return device + " (pending " + expected_text(p.fstype, p.label) + ") " + verdict_reason(device, v) +
         ": the provisioning record does not cover it; nothing written";
}

// Brings the kernel's partitions in line with the recorded table (a crash can stop the first
// boot before its BLKPG calls) so the partitions can be read; writes nothing to the disk.
void show_partitions(const MosDisk& m, const Context& ctx, Reporter& rep) {
  auto r = sync_kernel_partitions(m.disk.path, ctx);
  for (const auto& c : r.kernel_calls)
    if (c.op == "blkpg_add") rep.info("told the kernel about partition " + std::to_string(c.number) + " of " + m.disk.path);
}

// A copy of the recorded table lost to the crash (the backup is written first) is written again
// from the valid one: the record proves the table is ours.
void restore_table(const MosDisk& m, const Context& ctx, Reporter& rep) {
  if (m.primary_ok && m.backup_ok) return;
  repair_partition_table(m.disk.path, false, ctx);
  rep.done("rewrote the " + std::string(m.primary_ok ? "backup" : "primary") + " GPT of " + m.disk.path +
           " from its recorded copy");
}

void resume_single(const MosDisk& m, const RunOptions& opts, Reporter& rep) {
  const Context ctx = engine_context(opts);
  show_partitions(m, ctx, rep);
  std::vector<Step> steps;
  bool refused = false;
  for (uint32_t n = 1; n <= layout_partition_count(); ++n) {
    const PlannedPartition& p = layout_partition(n);
    if (p.fstype.empty()) continue;
    if (!m.pending.count(n)) {
      steps.push_back({n, StepAction::skip});
      rep.info(step_name(p) + ": recorded done on " + m.disk.path);
      continue;
    }
    const std::string dev = m.partition_path(n);
    ContentVerdict v = classify_device(dev, p.fstype, p.label);
    if (v.state == ContentState::ours) {
      steps.push_back({n, StepAction::clear});
      rep.info(step_name(p) + ": " + dev + " already holds " + expected_text(p.fstype, p.label) + "; only its record is cleared");
    } else if (only_our_partial_writes(v, p)) {
      steps.push_back({n, StepAction::format});
    } else {
      rep.error(refusal(dev, v, p));
      refused = true;
    }
  }
  if (refused) return;
  restore_table(m, ctx, rep);
  run_steps(m.disk.path, steps, ctx, rep);
}

// Both halves of an md step hold md members: their array, assembled, holds the step's filesystem.
bool md_step_complete(const std::string& a, const std::string& b, const PlannedPartition& p, const Context& ctx,
                      Reporter& rep) {
  RaidAssembleRequest req;
  req.devices = {a, b};
  req.read_only = true;  // only judged here: md writes nothing to the members (this boot may still refuse)
  RaidAssembleResult r;
  try {
    r = assemble_raids(req, ctx);
  } catch (const Error& e) {
    rep.info("md " + p.name + " of the unfinished first boot does not assemble (" + e.what() + "): it is made again");
    return false;
  }
  bool complete = false;
  bool whole = r.arrays.size() == 1 && r.arrays[0].left_out.empty() && r.arrays[0].missing_slots.empty() &&
               (r.arrays[0].outcome == "started" || r.arrays[0].outcome == "already_running");
  if (whole) {
    const std::string md = r.arrays[0].array ? r.arrays[0].array->device : raid_device_path(r.arrays[0].name);
    complete = classify_device(md, p.fstype, p.label).state == ContentState::ours;
    rep.info(step_name(p) + ": " + md + (complete ? " already holds " + expected_text(p.fstype, p.label) + "; only its record is cleared"
                                                 : " does not hold " + expected_text(p.fstype, p.label) + " yet: it is made again"));
  } else {
    std::string why = r.arrays.empty() ? "no array found" : r.arrays[0].outcome + (r.arrays[0].error ? ": " + *r.arrays[0].error : "");
    rep.info("md " + p.name + " of the unfinished first boot does not assemble whole (" + why + "): it is made again");
  }
  // Stopped either way when started here (read-only: its stop writes nothing); the bring-up assembles it again.
  for (const auto& a : r.arrays)
    if (a.outcome == "started" || a.outcome == "started_degraded" || (!complete && a.outcome == "already_running"))
      stop_raid(a.name, ctx);
  return complete;
}

// The unique id (btrfs fsid) the discovery read for a device, "" when none.
std::string uuid_of(const std::vector<Device>& all, const std::string& path) {
  for (const auto& d : all)
    if (d.path == path) return d.uuid.value_or("");
  return {};
}

void resume_pair(const std::vector<MosDisk>& pair, const RunOptions& opts, Reporter& rep) {
  Context ctx = engine_context(opts);
  load_raid_modules(opts, rep);  // the md steps are judged on their assembled arrays
  for (const auto& m : pair) show_partitions(m, ctx, rep);
  const std::vector<Device> all = discover_allowed(md_policy(opts.policy));
  std::vector<DualStep> steps;
  bool refused = false;
  for (uint32_t n = 1; n <= layout_partition_count(); ++n) {
    const PlannedPartition& p = layout_partition(n);
    if (p.fstype.empty()) continue;
    DualStep s{n};
    const bool pending[2] = {pair[0].pending.count(n) > 0, pair[1].pending.count(n) > 0};
    const std::string dev[2] = {pair[0].partition_path(n), pair[1].partition_path(n)};
    s.clear[0] = pending[0], s.clear[1] = pending[1];
    s.format[0] = s.format[1] = false;
    const bool md = step_name(p) == "efi" || step_name(p) == "boot";
    if (step_name(p) == "swap") {
      // Each disk's own swap area and record: one disk's "done" says nothing of the other's.
      for (size_t i = 0; i < 2; ++i) {
        if (!pending[i]) continue;
        ContentVerdict v = classify_device(dev[i], p.fstype, p.label);
        if (v.state == ContentState::ours) continue;  // formatted, only its record's clear was lost
        if (!only_our_partial_writes(v, p)) {
          rep.error(refusal(dev[i], v, p));
          refused = true;
        }
        s.format[i] = true;
      }
      steps.push_back(s);
      continue;
    }
    if (!pending[0] || !pending[1]) {
      // Recorded done on one disk: the format committed before either record was cleared.
      if (pending[0] || pending[1]) rep.info(step_name(p) + ": recorded done on one disk; its record is cleared on the other");
      steps.push_back(s);
      continue;
    }
    ContentVerdict v[2];
    for (size_t i = 0; i < 2; ++i) {
      v[i] = classify_device(dev[i], md ? "linux_raid_member" : p.fstype, md ? "" : p.label);
      bool partial = only_our_partial_writes(v[i], p) || (md && v[i].state == ContentState::damaged && v[i].fstype.empty());
      if (v[i].state != ContentState::ours && !partial) {
        rep.error(refusal(dev[i], v[i], p));
        refused = true;
      }
    }
    if (refused) continue;
    const bool both_ours = v[0].state == ContentState::ours && v[1].state == ContentState::ours;
    if (md) {
      bool complete = both_ours && md_step_complete(dev[0], dev[1], p, ctx, rep);
      s.format[0] = s.format[1] = !complete;
    } else {
      bool same_fs = both_ours && !uuid_of(all, dev[0]).empty() && uuid_of(all, dev[0]) == uuid_of(all, dev[1]);
      s.format[0] = s.format[1] = !same_fs;
    }
    steps.push_back(s);
  }
  if (refused) return;
  for (const auto& m : pair) restore_table(m, ctx, rep);
  run_dual_steps({pair[0].disk.path, pair[1].disk.path}, steps, opts, rep);
}

// A two-disk first boot that stopped before the second disk's GPT: its partner is a blank disk,
// given the same table (and record) as the first, as long as nothing of it is done yet.
std::optional<MosDisk> blank_partner(const MosDisk& first, const std::vector<Device>& all, const Config& cfg,
                                     const RunOptions& opts, Reporter& rep) {
  for (const auto& e : first.table.entries)
    if (!layout_partition(e.number).fstype.empty() && !first.pending.count(e.number)) {
      rep.error(first.disk.path + " records a two-disk first boot with steps done, and its partner disk is missing; "
                "nothing written (put the partner disk back)");
      return std::nullopt;
    }
  Selection sel = select_disks(gather_disk_facts(all, opts.policy, cfg), cfg);
  for (const auto& d : sel.chosen) {
    if (d.path == first.disk.path) continue;
    std::vector<LayoutPartition> parts;
    for (const auto& e : first.table.entries) {
      const PlannedPartition& p = layout_partition(e.number);
      std::optional<uint64_t> size;
      if (e.number < first.table.entries.size()) size = e.sectors() * first.table.sector_size;  // mosdata: the rest
      parts.push_back({p.name, p.part_type, size, initial_record_bits(p, true)});
    }
    const Context ctx = engine_context(opts);
    create_partition_layout(d.path, parts, false, false, ctx);
    rep.done("wrote GPT on " + d.path + " (partner of the unfinished two-disk first boot of " + first.disk.path +
             ", provisioning record set)");
    crash_point("sysvol:after-gpt");
    Device fresh = find_device(d.path);
    return read_mos_disk(fresh);
  }
  rep.error(first.disk.path + " records an unfinished two-disk first boot and no blank partner disk is present; "
            "nothing written");
  return std::nullopt;
}

}  // namespace

void resume(const std::vector<MosDisk>& recorded, const std::vector<Device>& all, const Config& cfg,
            const RunOptions& opts, Reporter& rep) {
  for (const auto& m : recorded) {
    std::string pending;
    for (uint32_t n : m.pending) pending += (pending.empty() ? "" : ", ") + step_name(layout_partition(n));
    rep.warn(m.disk.path + " carries the provisioning record of an unfinished " + (m.two_disk ? "two-disk " : "") +
             "first boot (pending: " + pending + "): finishing only those steps");
  }
  const bool two_disk = std::any_of(recorded.begin(), recorded.end(), [](const MosDisk& m) { return m.two_disk; });
  if (recorded.size() > 2 || (recorded.size() == 2 && !(recorded[0].two_disk && recorded[1].two_disk))) {
    rep.error("more than one unfinished first boot is recorded (" + recorded[0].disk.path + ", " + recorded[1].disk.path +
              "): refusing to guess which disks belong together; nothing written");
    return;
  }
  if (!two_disk) return resume_single(recorded[0], opts, rep);
  std::vector<MosDisk> pair = recorded;
  if (pair.size() == 1) {
    auto partner = blank_partner(pair[0], all, cfg, opts, rep);
    if (!partner) return;
    pair.push_back(*partner);
  }
  resume_pair(pair, opts, rep);
}

}  // namespace mos::engine::sysvol
