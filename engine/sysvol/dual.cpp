// mos_sysvol on two disks: both get the MOS layout; mosefi pair -> md RAID1 0.90 -> FAT32,
// mosboot pair -> md RAID1 1.2 -> ext4, a swap area on each, btrfs RAID1 over the mosdata pair.
// Also the md half of a later boot: assemble the arrays (degraded when a disk is missing).
#include <algorithm>

#include "engine/apply_plan.hpp"
#include "engine/disk_access.hpp"
#include "engine/format/format.hpp"
#include "engine/modules.hpp"
#include "engine/partition/partition.hpp"
#include "engine/raid/raid.hpp"
#include "engine/sysvol/classify.hpp"
#include "engine/sysvol/layout.hpp"
#include "engine/sysvol/steps.hpp"
#include "base/error.hpp"
#include "ioctl/sysfs.hpp"
#include "mdraid/superblock.hpp"

namespace mos::engine::sysvol {
namespace {

// md devices we create or assemble from allowed members are allowed too.
Context with_md_devices(Context ctx) {
  if (ctx.policy.allow_devices.empty()) return ctx;  // everything is allowed already
  for (const char* n : {"mosefi", "mosboot"}) {
    ctx.policy.allow_devices.push_back(raid_device_path(n));
    ctx.policy.allow_devices.push_back(raid_link_path(n));
  }
  return ctx;
}

std::string make_raid(const std::string& name, mdraid::Metadata metadata, const std::vector<std::string>& members,
                      const Context& ctx, Reporter& rep) {
  RaidCreateRequest req;
  req.name = name;
  req.metadata = metadata;
  req.members = members;
  req.force = true;  // partitions we just created on disks judged blank (or ours)
  // Where both disks zero in the device (write-zeroes offload), zeroing the data areas is cheap
  // and makes the mirrors identical: no initial resync competing with the first boot's writes.
  // Elsewhere (e.g. disks without offload) the kernel's background resync is cheaper.
  req.zero_members = std::all_of(members.begin(), members.end(), [](const std::string& m) {
    Device d = find_device(m, DiscoverOptions{false});
    std::string disk = d.parent.value_or(d.path).substr(5);
    return io::sysfs_u64("/sys/class/block/" + disk + "/queue/write_zeroes_max_bytes").value_or(0) > 0;
  });
  auto r = create_raid(req, ctx);
  rep.done("created md RAID1 " + r.array.device + " (metadata " + std::string(mdraid::metadata_text(metadata)) + ") over " +
           members[0] + " + " + members[1] +
           (req.zero_members ? " (data areas zeroed by the devices: no resync)" : " (initial resync by the kernel)"));
  return r.array.device;
}

}  // namespace

void load_raid_modules(const RunOptions& opts, Reporter& rep) {
  if (!opts.load_modules || opts.dry_run) return;
  for (const auto& r : load_modules({"raid1"}, opts.modules_dir)) {
    if (r.status == "loaded") rep.done("loaded module " + r.name);
    else if (r.status != "already" && r.status != "builtin") rep.error("module " + r.name + " " + r.status + ": " + r.detail);
  }
}

Policy md_policy(const Policy& p) {
  Context c;
  c.policy = p;
  return with_md_devices(c).policy;
}

void provision_dual(const std::vector<Device>& disks, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  const Context ctx = with_md_devices(engine_context(opts));
  // One layout for both: sized by the smaller disk and the larger sector size.
  Config c = cfg;
  const uint64_t smaller = std::min(disks[0].size_bytes, disks[1].size_bytes);
  const uint32_t sector = std::max(disks[0].logical_sector_size, disks[1].logical_sector_size);
  if (!c.swap_size_gib) c.swap_size_gib = default_swap_gib(smaller);
  Layout l = plan_layout(disks[0].path, smaller, sector, c);
  std::vector<LayoutPartition> parts;
  for (const auto& p : l.partitions) parts.push_back({p.name, p.part_type, p.size_bytes, initial_record_bits(p, true)});
  std::vector<std::string> paths;
  for (const auto& d : disks) {
    auto gpt = create_partition_layout(d.path, parts, false, false, ctx);
    rep.done("wrote GPT on " + d.path + " (" + std::to_string(gpt.partitions.size()) + " partitions, provisioning record set)");
    paths.push_back(d.path);
  }
  crash_point("sysvol:after-gpt");
  std::vector<DualStep> steps;
  for (uint32_t n = 1; n <= l.partitions.size(); ++n)
    if (!l.partitions[n - 1].fstype.empty()) steps.push_back({n});
  run_dual_steps(paths, steps, opts, rep);
}

void run_dual_steps(const std::vector<std::string>& disks, const std::vector<DualStep>& steps, const RunOptions& opts,
                    Reporter& rep) {
  const Context ctx = with_md_devices(engine_context(opts));
  load_raid_modules(opts, rep);
  auto part = [&](size_t disk, uint32_t n) { return "/dev/" + partition_name(disks[disk].substr(5), n); };
  auto format = [&](const std::string& dev, const PlannedPartition& p, std::vector<std::string> more = {},
                    std::optional<std::string> profile = {}) {
    FormatRequest req;
    req.device = dev;
    req.fstype = p.fstype;
    req.label = p.label;
    req.devices = std::move(more);
    req.profile = std::move(profile);
    req.force = true;  // partitions (and arrays over them) the record proves are ours to (re)write
    create_filesystem(req, ctx);
    rep.done("created " + p.fstype + " " + p.label + " on " + dev + (req.devices.empty() ? "" : " + " + req.devices[0]));
  };
  for (const auto& s : steps) {
    const PlannedPartition& p = layout_partition(s.number);
    const std::string step = step_name(p);
    if (step == "efi" || step == "boot") {
      if (s.format[0] || s.format[1]) {
        // 0.90: firmware sees a plain FAT32
        const mdraid::Metadata metadata = step == "efi" ? mdraid::Metadata::v0_90 : mdraid::Metadata::v1_2;
        std::string md = make_raid(p.name, metadata, {part(0, s.number), part(1, s.number)}, ctx, rep);
        crash_point("sysvol:after-" + step + "-raid");
        format(md, p);
        crash_point("sysvol:after-" + step + "-fs");
      }
    } else if (step == "swap") {
      for (size_t i = 0; i < 2; ++i)
        if (s.format[i]) format(part(i, s.number), p);
      if (s.format[0] || s.format[1]) crash_point("sysvol:after-swap-fs");
    } else if (s.format[0] || s.format[1]) {
      format(part(0, s.number), p, {part(1, s.number)}, std::string("raid1"));
      crash_point("sysvol:after-data-fs");
    }
    for (size_t i = 0; i < 2; ++i) {
      if (!s.clear[i]) continue;
      clear_record(disks[i], {s.number}, ctx);
      rep.done("provisioning record: " + step + " done on " + disks[i]);
    }
    if (s.clear[0] || s.clear[1]) crash_point("sysvol:after-" + step + "-record");
  }
}

namespace {

// A stale member of our own unfinished first boot, added back: the kernel rebuilds it from the
// fresh member (a full resync: its superblock is new). False when the kernel refused it.
bool re_add_stale(const RaidAssembly& a, const RaidLeftOut& l, const Context& ctx, Reporter& rep) {
  RaidAddRequest req;
  req.array = a.name;
  req.device = l.device;
  req.force = true;  // its old superblock of this very array, which the record proves ours
  try {
    raid_add_member(req, ctx);
  } catch (const Error& e) {
    rep.warn("md " + a.name + ": " + l.device + " (" + l.reason + ") could not be added back: " + e.what());
    return false;
  }
  rep.done("md " + a.name + ": added back " + l.device + ", left out as " + l.reason +
           " by a power loss during this first boot; the kernel resyncs it from the other member");
  return true;
}

// The array's content judged while it runs read-only (md has written nothing yet): ours → made
// writable (only now may md update superblocks or resync); anything else → reported damaged and
// stopped, its members untouched. Returns whether it stays in service.
bool judge_read_only_array(const RaidAssembly& a, const Context& ctx, Reporter& rep) {
  const PlannedPartition* p = nullptr;
  for (uint32_t n = 1; n <= layout_partition_count(); ++n)
    if (layout_partition(n).name == a.name) p = &layout_partition(n);
  const std::string md = a.array ? a.array->device : raid_device_path(a.name);
  if (p) {
    ContentVerdict v = classify_device(md, p->fstype, p->label);
    if (v.state != ContentState::ours) {
      rep.damaged({md, expected_text(p->fstype, p->label), verdict_reason(md, v), v.repair, "reported"});
      rep.out_of_service(expected_text(p->fstype, p->label) + " on " + md);
      stop_raid(a.name, ctx);
      rep.info("md " + a.name + " was judged read-only and stopped again: nothing written to its members");
      return false;
    }
  }
  make_raid_writable(a.name, ctx);
  return true;
}

}  // namespace

std::set<std::string> assemble_md(const Found& found, const RunOptions& opts, Reporter& rep, StaleMember stale) {
  std::set<std::string> stopped;
  if (found.md_members.empty()) return stopped;
  const Context ctx = with_md_devices(engine_context(opts));
  load_raid_modules(opts, rep);
  RaidAssembleRequest req;
  for (const auto& m : found.md_members) req.devices.push_back(m.path);
  req.dry_run = opts.dry_run;
  req.read_only = true;  // judged before md may write anything (a refused boot writes nothing)
  auto r = assemble_raids(req, ctx);
  for (const auto& a : r.arrays) {
    if ((a.outcome == "started" || a.outcome == "started_degraded") && !judge_read_only_array(a, ctx, rep)) {
      stopped.insert(a.array ? a.array->device : raid_device_path(a.name));
      continue;
    }
    size_t re_added = 0;
    for (const auto& l : a.left_out) {
      const bool running = a.outcome == "started_degraded" || a.outcome == "already_running";
      if (stale == StaleMember::re_add && running && !opts.dry_run && l.reason.starts_with("stale:") &&
          re_add_stale(a, l, ctx, rep)) {
        ++re_added;
        continue;
      }
      rep.warn("md " + a.name + ": " + l.device + " left out: " + l.reason);
      rep.out_of_service("md " + a.name + " member " + l.device);
    }
    if (re_added && re_added == a.missing_slots.size()) {
      rep.done("md " + a.name + " started (" + std::to_string(a.members.size()) + " member(s), " + std::to_string(re_added) +
               " resyncing)");
    } else if (a.outcome == "started" || a.outcome == "already_running" || a.outcome == "would_start") {
      rep.done("md " + a.name + " " + a.outcome + " (" + std::to_string(a.members.size()) + " members)");
    } else if (a.outcome == "started_degraded" || a.outcome == "would_start_degraded") {
      rep.report().degraded = true;
      rep.out_of_service("md " + a.name + ": " + std::to_string(a.missing_slots.size()) + " of " +
                         std::to_string(a.members.size() + a.missing_slots.size()) + " members");
      rep.warn("md " + a.name + " is DEGRADED: started with " + std::to_string(a.members.size()) +
               " member(s); replace the missing disk");
    } else {
      rep.error("md " + a.name + " failed to assemble: " + a.error.value_or(a.outcome));
    }
  }
  return stopped;
}

}  // namespace mos::engine::sysvol
