// create_raid: check everything, write the member superblocks natively (md-format's plans),
// then start the array through the kernel.
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <future>

#include "engine/apply_plan.hpp"
#include "engine/bulk.hpp"
#include "engine/member_open.hpp"
#include "engine/raid/raid.hpp"
#include "engine/raid/internal.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"
#include "mdraid/superblock.hpp"
#include "base/text.hpp"

namespace mos::engine {
namespace {

constexpr const char* kMissing = "missing";

struct Slots {
  std::vector<std::string> paths;  // present members, resolved
  std::vector<uint32_t> roles;     // slot of each present member
  unsigned missing = 0;
};

Slots resolve_members(const RaidCreateRequest& req, const Context& ctx) {
  if (req.members.size() != 2)
    throw_validation("a RAID1 array takes two members: two devices, or one device and \"missing\" (got " +
                     std::to_string(req.members.size()) + ")");
  Slots s;
  for (uint32_t slot = 0; slot < req.members.size(); ++slot) {
    if (req.members[slot] == kMissing) {
      ++s.missing;
      continue;
    }
    std::string path = raid::member_path(req.members[slot], ctx);
    if (std::find(s.paths.begin(), s.paths.end(), path) != s.paths.end())
      throw_validation(req.members[slot] + " is named twice among the members (" + path + ")", path);
    s.paths.push_back(path);
    s.roles.push_back(slot);
  }
  if (s.paths.empty()) throw_validation("every member is \"missing\": a RAID1 array needs at least one device");
  return s;
}

RaidArray planned_array(const RaidCreateRequest& req, const mdraid::ArraySpec& spec, const mdraid::Geometry& g,
                        const Slots& s) {
  RaidArray a;
  a.name = req.name;
  a.device = raid_device_path(req.name);
  a.metadata = std::string(mdraid::metadata_text(spec.metadata));
  a.uuid = mos::uuid_text(spec.uuid);
  a.level = "raid1";
  a.state = "not started";
  a.raid_disks = spec.raid_disks;
  a.degraded = s.missing;
  a.size_bytes = g.array_size_bytes;
  for (uint32_t slot = 0; slot < spec.raid_disks; ++slot) {
    auto it = std::find(s.roles.begin(), s.roles.end(), slot);
    if (it == s.roles.end()) a.members.push_back({std::nullopt, static_cast<int>(slot), "missing", std::nullopt});
    else a.members.push_back({s.paths[static_cast<size_t>(it - s.roles.begin())], static_cast<int>(slot), "in_sync", spec.events});
  }
  return a;
}

// The data area of a member: where the array's bytes live (v1.2 after data_offset, v0.90 from 0).
mos::PlanStep zero_data_area(const mdraid::Geometry& g) {
  mos::PlanStep step{"zero-data-area", {}, {}};
  step.zeroes.push_back({g.data_offset_sectors * 512, g.component_sectors * 512, "md data area (array starts clean)"});
  return step;
}

}  // namespace

void to_json(json& j, const RaidCreateResult& r) {
  j = json{{"array", r.array}, {"started", r.started}, {"dry_run", r.dry_run}, {"resync", r.resync}, {"members", r.members}};
}

RaidCreateResult create_raid(const RaidCreateRequest& req, const Context& ctx) {
  validate_raid_name(req.name);
  const mdraid::Metadata metadata = req.metadata;
  mdraid::ArraySpec spec;
  spec.metadata = metadata;
  if (req.uuid) {
    auto u = mdraid::parse_uuid(*req.uuid);
    if (!u) throw_validation("uuid '" + *req.uuid + "' is not a UUID (01234567-89ab-cdef-0123-456789abcdef)");
    spec.uuid = *u;
  } else {
    spec.uuid = mos::random_uuid();
  }
  const Slots slots = resolve_members(req, ctx);
  if (req.start) {
    ctx.policy.require_allowed(raid_device_path(req.name));
    const std::string block = raid_block_name(req.name);
    if (raid::array_running(block))
      throw_validation("an md array named " + req.name + " is already running (/dev/" + block + ")", "/dev/" + block);
    if (!req.dry_run) raid::require_md_driver();  // before any byte is written
  }
  std::vector<Device> devs;
  for (const auto& path : slots.paths) devs.push_back(raid::require_unused_member(path, req.force));

  // Exclusive opens keep the kernel and other programs off the members while we write.
  OpenedMembers opened = open_members_locked(devs, req.dry_run);
  std::vector<mdraid::MemberSpec> members;
  for (size_t i = 0; i < devs.size(); ++i) {
    const io::BlockFacts& f = opened.facts[i];
    mdraid::MemberSpec m;
    m.size_bytes = f.size_bytes;
    m.logical_sector_size = f.logical_sector_size;
    m.role = slots.roles[i];
    m.device_uuid = mos::random_uuid();
    m.major = devs[i].major;
    m.minor = devs[i].minor;
    members.push_back(m);
  }

  spec.name = metadata == mdraid::Metadata::v1_2 ? req.name : "";
  spec.raid_disks = 2;
  spec.ctime = raid::now_seconds();
  spec.clean = req.zero_members || req.assume_clean;
  spec.events = metadata == mdraid::Metadata::v0_90 ? 1 : 0;
  const mdraid::Geometry geometry = mdraid::plan_geometry(spec, members);

  std::vector<mos::WritePlan> plans;
  for (size_t i = 0; i < members.size(); ++i) {
    mos::WritePlan plan = mdraid::plan_member(spec, geometry, members, i);
    std::vector<mos::PlanStep> first{old_signature_wipe(members[i].size_bytes)};
    if (req.zero_members) first.push_back(zero_data_area(geometry));
    plan.steps.insert(plan.steps.begin(), first.begin(), first.end());
    plans.push_back(std::move(plan));
  }

  RaidCreateResult result;
  result.array = planned_array(req, spec, geometry, slots);
  result.dry_run = req.dry_run;
  result.resync = !spec.clean && slots.missing == 0;
  for (size_t i = 0; i < devs.size(); ++i) result.members.push_back({devs[i], summarize_plan(plans[i])});
  if (req.dry_run) return result;

  // Members are separate devices: write them side by side so their flushes overlap (the
  // barriers are per device anyway). Every member finishes before the first error is rethrown.
  std::vector<std::future<void>> writers;
  for (size_t i = 0; i < devs.size(); ++i)
    writers.push_back(std::async(std::launch::async, [&, i] {
      apply_plan(opened.fds[i], plans[i], bulk_zero_fn());
      io::blk_flush_buffers(opened.fds[i]);
    }));
  for (auto& w : writers) w.wait();
  for (auto& w : writers) w.get();
  opened.release();  // the kernel claims the members exclusively next
  for (size_t i = 0; i < devs.size(); ++i) {
    announce_content_change(devs[i].name);
    result.members[i].device = find_device(slots.paths[i], DiscoverOptions{false});
  }
  if (!req.start) return result;

  const std::string block = raid::start_array(req.name, metadata, devs);
  result.started = true;
  result.array = raid::read_array(block);
  return result;
}

}  // namespace mos::engine
