// mos_sysvol's first boot: recognise our own half-made layout, plan and write the MOS layout
// (GPT, FAT32, ext4, swap, btrfs), each step behind a named crash point.
#include <algorithm>
#include <optional>

#include "engine/apply_plan.hpp"
#include "engine/disk_access.hpp"
#include "engine/format/format.hpp"
#include "engine/partition/partition.hpp"
#include "engine/partition/plan.hpp"
#include "engine/sysvol/layout.hpp"
#include "engine/sysvol/steps.hpp"
#include "gpt/types.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

const Config& layout_probe_config() {
  static const Config c = default_config();
  return c;
}

std::string crash_name_after(const PlannedPartition& p) {
  if (p.fstype == "vfat") return "sysvol:after-efi-fs";
  if (p.fstype == "ext4") return "sysvol:after-boot-fs";
  if (p.fstype == "swap") return "sysvol:after-swap-fs";
  return "sysvol:after-data-fs";
}

}  // namespace

std::optional<std::string> half_made_reason(const Device& disk, const std::vector<Device>& all) {
  if (disk.fstype) return "carries a whole-disk " + *disk.fstype + " signature";
  if (auto busy = disk_busy_reason(disk.name)) return "in use: " + *busy;
  gpt::ReadResult r;
  try {
    Disk d = open_disk(disk.path, false);
    r = read_disk_table(d);
  } catch (const Error& e) {
    return std::string("cannot read its partition table: ") + e.what();
  }
  if (!r.table) return "no readable GPT";
  // The layout of any disk size: names and types are what identify it, sizes may differ.
  Layout ref = plan_layout(disk.path, kMinDiskBytes, disk.logical_sector_size, layout_probe_config());
  const auto& entries = r.table->entries;
  if (entries.size() != ref.partitions.size()) return "its GPT does not hold exactly the five MOS partitions";
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& want = ref.partitions[i];
    if (entries[i].number != i + 1 || entries[i].name != want.name || entries[i].type != gpt::parse_type(want.part_type))
      return "partition " + std::to_string(entries[i].number) + " (" + entries[i].name + ") is not ours";
  }
  for (const auto& p : all) {
    if (!p.parent || *p.parent != disk.path || !p.partnum) continue;
    if (*p.partnum < 1 || *p.partnum > ref.partitions.size()) return "kernel partition " + p.path + " is not in our layout";
    const auto& want = ref.partitions[*p.partnum - 1];
    if (!p.fstype) continue;  // not formatted yet
    bool ours = (*p.fstype == want.fstype && p.label && *p.label == want.label) ||
                (*p.fstype == "linux_raid_member" && (want.name == "mosefi" || want.name == "mosboot"));
    if (!ours) return p.path + " carries " + *p.fstype + (p.label ? " '" + *p.label + "'" : std::string()) + ", not ours";
  }
  return std::nullopt;
}

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

void provision(const std::vector<Device>& disks, bool resume, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  if (disks.size() == 2) return provision_dual(disks, resume, cfg, opts, rep);
  const Device& disk = disks.front();
  const Context ctx = engine_context(opts);
  Layout l = plan_layout(disk.path, disk.size_bytes, disk.logical_sector_size, cfg);
  std::vector<LayoutPartition> parts;
  for (const auto& p : l.partitions) parts.push_back({p.name, p.part_type, p.size_bytes});
  // force only for our own half-made layout: a blank disk needs none, anything else is refused.
  auto gpt = create_partition_layout(disk.path, parts, resume, false, ctx);
  rep.done("wrote GPT on " + disk.path + " (" + std::to_string(gpt.partitions.size()) + " partitions)");
  crash_point("sysvol:after-gpt");
  for (size_t i = 0; i < l.partitions.size(); ++i) {
    const auto& p = l.partitions[i];
    if (p.fstype.empty()) continue;
    FormatRequest req;
    req.device = gpt.partitions.at(i).path;
    req.fstype = p.fstype;
    req.label = p.label;
    req.force = true;  // partitions we just created on a disk judged blank (or ours)
    create_filesystem(req, ctx);
    rep.done("created " + p.fstype + " " + p.label + " on " + req.device);
    crash_point(crash_name_after(p));
  }
}

}  // namespace mos::engine::sysvol
