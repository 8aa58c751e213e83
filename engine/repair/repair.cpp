#include "engine/repair/repair.hpp"

#include "base/error.hpp"
#include "engine/apply_plan.hpp"
#include "engine/format/format.hpp"  // announce_content_change
#include "engine/plan_summary.hpp"
#include "engine/content_state.hpp"
#include "engine/inventory/content.hpp"
#include "engine/member_open.hpp"
#include "engine/partition/partition.hpp"
#include "engine/repair/formats.hpp"
#include "engine/safety.hpp"
#include "fsmake/probe/probe.hpp"

namespace mos::engine {

void repair::refuse(const std::string& device, const std::string& why) {
  throw Error(ErrorCode::validation, device + ": " + why, device);
}

namespace {

constexpr const char* kWhatWeRepair = "repair-superblock repairs btrfs, ext2/3/4, FAT32 and GPT";

bool is_ext(const std::string& type) { return type == "ext4" || type == "ext3" || type == "ext2"; }
bool keeps_copies(const std::string& type) { return type == "btrfs" || type == "vfat" || is_ext(type); }

// A GPT whose primary header or entries are damaged: the partition engine's repair, with the
// whole disk held and none of its partitions in use. It opens the disk itself, so the caller's
// hold is released first; it reads and judges the table again under its own.
RepairResult repair_table(const RepairRequest& req, const Context& ctx, RepairResult res, OpenedMembers& opened) {
  const std::string path = res.device.path;
  const uint64_t last_lba = opened.facts[0].size_bytes / opened.facts[0].logical_sector_size - 1;
  opened.release();
  PartitionOpResult pr = repair_partition_table(path, req.dry_run, ctx, false);
  res.source = "backup GPT header and partition entries (header at LBA " + std::to_string(last_lba) + ")";
  res.plan = pr.plan;
  res.notes = pr.notes;
  res.repaired = !req.dry_run && !pr.plan.steps.empty();
  if (res.repaired) res.device = find_device(path);
  return res;
}

}  // namespace

RepairResult repair_superblock(const RepairRequest& req, const Context& ctx) {
  const std::string path = ctx.policy.judge(req.device, Access::write);
  Device dev = require_idle(path);  // mounted, held, swap, read-only: refused, for a dry run too
  OpenedMembers opened = open_members_locked({dev}, req.dry_run);
  const io::Fd& fd = opened.fds[0];
  const io::BlockFacts& facts = opened.facts[0];
  fsmake::ProbeSource src(fd, facts.size_bytes, facts.logical_sector_size, fsmake::ProbeSource::Read::whole);
  const fsmake::ProbeResult found = fsmake::probe_device(src);
  fill_content_from(dev, found);

  RepairResult res;
  res.device = dev;
  res.dry_run = req.dry_run;
  if (!found.damaged.empty()) res.damage = found.damaged;
  res.format = !found.type.empty() ? found.type : found.pttype;
  const bool table = found.type.empty() && found.pttype == "gpt";
  if (!found.type.empty() && found.pttype == "gpt")
    repair::refuse(path, "carries both " + describe_content(found) + " and a gpt partition table: not guessing which "
                         "of them to repair");
  if (!table && !keeps_copies(found.type)) {
    if (res.format.empty())
      repair::refuse(path, "no filesystem or partition table recognised, nor a valid copy of one: nothing to repair from");
    repair::refuse(path, "carries " + describe_content(found) + "; " + kWhatWeRepair + " only");
  }
  if (found.damaged.empty()) {
    res.notes.push_back(std::string("the primary ") + (table ? "GPT header" : "superblock") + " of its " + res.format +
                        " is healthy; nothing to repair");
    return res;
  }
  if (table) return repair_table(req, ctx, std::move(res), opened);

  repair::FormatRepair fix = found.type == "btrfs" ? repair::btrfs_repair(src, path)
                             : found.type == "vfat" ? repair::fat_repair(src, fd, path)
                                                    : repair::ext_repair(src, fd, path);
  res.source = fix.source;
  res.notes = fix.notes;
  res.plan = summarize_plan(fix.plan);
  if (req.dry_run) return res;

  apply_plan(fd, fix.plan);
  // What the device holds now, read again: the primary must verify on its own.
  fsmake::ProbeSource after(fd, facts.size_bytes, facts.logical_sector_size, fsmake::ProbeSource::Read::whole);
  const fsmake::ProbeResult now = fsmake::probe_device(after);
  if (!now.damaged.empty() || now.type != found.type)
    throw Error(ErrorCode::storage_failed,
                path + ": the primary was rewritten from the " + *res.source + " but does not verify: " +
                    (now.damaged.empty() ? "the device now reads as " + describe_content(now) : now.damaged),
                path);
  fill_content_from(dev, now);
  res.device = dev;
  res.repaired = true;
  opened.release();
  announce_content_change(dev.name);
  return res;
}

RepairCheck repair_is_safe(const std::string& device, const Context& ctx) {
  try {
    RepairResult r = repair_superblock({device, true}, ctx);
    if (r.plan.bytes_written == 0) return {false, r.notes.empty() ? "nothing to repair" : r.notes.front()};
    return {true, "the primary would be rewritten from the " + r.source.value_or("copy")};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

void to_json(json& j, const RepairResult& r) {
  j = json{{"device", r.device}, {"format", r.format},   {"damage", r.damage}, {"source", r.source},
           {"dry_run", r.dry_run}, {"repaired", r.repaired}, {"plan", r.plan},     {"notes", r.notes}};
}

}  // namespace mos::engine
