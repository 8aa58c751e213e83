// mos_sysvol's first boot: plan and write the MOS layout (GPT with the provisioning record,
// FAT32, ext4, swap, btrfs), each step's record cleared once its format is flushed, every write
// behind a named crash point.
#include <algorithm>

#include "engine/apply_plan.hpp"
#include "engine/disk_access.hpp"
#include "engine/format/format.hpp"
#include "engine/partition/partition.hpp"
#include "engine/sysvol/layout.hpp"
#include "engine/sysvol/steps.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {

json plan_json(const std::vector<Device>& disks, const Config& cfg) {
  json out = json::array();
  // Two disks share one layout: sized by the smaller disk and the larger sector size.
  Config c = cfg;
  uint64_t smallest = disks.empty() ? 0 : disks[0].size_bytes;
  uint32_t sector = 0;
  for (const auto& d : disks) smallest = std::min(smallest, d.size_bytes), sector = std::max(sector, d.logical_sector_size);
  if (disks.size() == 2 && !c.swap_size_gib) c.swap_size_gib = default_swap_gib(smallest);
  for (const auto& d : disks) {
    Layout l = disks.size() == 2 ? plan_layout(d.path, smallest, sector, c)
                                 : plan_layout(d.path, d.size_bytes, d.logical_sector_size, c);
    json parts = json::array();
    for (size_t i = 0; i < l.partitions.size(); ++i) {
      const auto& p = l.partitions[i];
      parts.push_back({{"number", i + 1}, {"name", p.name}, {"part_type", p.part_type}, {"size_bytes", p.size_bytes},
                       {"fstype", p.fstype.empty() ? json(nullptr) : json(p.fstype)},
                       {"label", p.label.empty() ? json(nullptr) : json(p.label)}});
    }
    out.push_back({{"disk", d.path}, {"size_bytes", d.size_bytes}, {"logical_sector_size", d.logical_sector_size},
                   {"raid1", disks.size() == 2}, {"partitions", parts}});
  }
  return out;
}

void run_steps(const std::string& disk, const std::vector<Step>& steps, const Context& ctx, Reporter& rep) {
  const std::string disk_name = disk.substr(disk.rfind('/') + 1);
  for (const auto& s : steps) {
    if (s.action == StepAction::skip) continue;
    const PlannedPartition& p = layout_partition(s.number);
    const std::string device = "/dev/" + partition_name(disk_name, s.number);
    if (s.action == StepAction::format) {
      FormatRequest req;
      req.device = device;
      req.fstype = p.fstype;
      req.label = p.label;
      req.force = true;  // a partition the record proves is ours to (re)write
      create_filesystem(req, ctx);
      rep.done("created " + p.fstype + " " + p.label + " on " + device);
      crash_point("sysvol:after-" + step_name(p) + "-fs");
    }
    clear_record(disk, {s.number}, ctx);
    rep.done("provisioning record: " + step_name(p) + " done on " + disk);
    crash_point("sysvol:after-" + step_name(p) + "-record");
  }
}

void provision(const std::vector<Device>& disks, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  if (disks.size() == 2) return provision_dual(disks, cfg, opts, rep);
  const Device& disk = disks.front();
  const Context ctx = engine_context(opts);
  Layout l = plan_layout(disk.path, disk.size_bytes, disk.logical_sector_size, cfg);
  std::vector<LayoutPartition> parts;
  for (const auto& p : l.partitions) parts.push_back({p.name, p.part_type, p.size_bytes, initial_record_bits(p, false)});
  // No force: the disk was judged blank, and create_partition_layout judges it again under its lock.
  auto gpt = create_partition_layout(disk.path, parts, false, false, ctx);
  rep.done("wrote GPT on " + disk.path + " (" + std::to_string(gpt.partitions.size()) + " partitions, provisioning record set)");
  crash_point("sysvol:after-gpt");
  std::vector<Step> steps;
  for (uint32_t n = 1; n <= l.partitions.size(); ++n)
    if (!l.partitions[n - 1].fstype.empty()) steps.push_back({n, StepAction::format});
  run_steps(disk.path, steps, ctx, rep);
}

}  // namespace mos::engine::sysvol
