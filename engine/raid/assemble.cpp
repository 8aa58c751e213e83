// assemble_raids: probe allowed devices, group md members by array UUID, keep the freshest
// members (event count, as the kernel does: one event behind still counts as fresh), leave out
// and report stale, diverged or unusable ones, and start each group not running yet.
#include <fcntl.h>

#include <algorithm>
#include <map>

#include "engine/raid/raid.hpp"
#include "engine/raid/internal.hpp"
#include "engine/safety.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/md.hpp"
#include "mdraid/superblock.hpp"
#include "base/text.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {
namespace {

struct Candidate {
  Device dev;
  mdraid::Superblock sb;
};

std::optional<mdraid::Superblock> read_member_superblock(const Device& d) {
  io::Fd fd = io::open_block(d.path, O_RDONLY);
  io::blk_flush_buffers(fd);  // the kernel wrote superblocks around our page cache
  return mdraid::read_superblock(fd, io::block_facts(fd).size_bytes);
}

bool valid_name(const std::string& name) {
  try {
    validate_raid_name(name);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// v1.2: the superblock's name (mdadm writes "host:name"; the part after the colon names it).
// v0.90: the partition name its members share, else "md<preferred minor>".
std::string array_name(std::vector<Candidate>& group, const mdraid::Superblock& best) {
  if (best.metadata == mdraid::Metadata::v1_2) {
    std::string n = best.name.substr(best.name.rfind(':') == std::string::npos ? 0 : best.name.rfind(':') + 1);
    if (valid_name(n)) return n;
  } else {
    for (auto& c : group)
      if (!c.dev.partlabel && c.dev.kind == "partition") c.dev.partlabel = find_device(c.dev.path).partlabel;
    const auto& first = group.front().dev.partlabel;
    bool common = first && std::all_of(group.begin(), group.end(), [&](const Candidate& c) { return c.dev.partlabel == first; });
    if (common && valid_name(*first)) return *first;
  }
  return "md" + std::to_string(best.md_minor);
}

std::string role_text(uint16_t role) {
  if (role == mdraid::kRoleSpare) return "spare or absent";
  if (role == mdraid::kRoleFaulty) return "faulty";
  return "slot " + std::to_string(role);
}

// The running md device holding one of the group's members, if any.
std::optional<std::string> running_block_of(const std::vector<Candidate>& group) {
  for (const auto& c : group)
    for (const auto& h : c.dev.holders) {
      std::string block = h.substr(5);
      if (io::md::md_device_exists(block) && raid::array_running(block)) return block;
    }
  return std::nullopt;
}

std::vector<Device> candidate_devices(const RaidAssembleRequest& req, const Context& ctx) {
  std::vector<Device> out;
  if (!req.devices.empty()) {
    // The superblock is read directly; content probing (partition names) only when naming needs it.
    for (const auto& given : req.devices) out.push_back(find_device(raid::member_path(given, ctx), DiscoverOptions{false}));
    return out;
  }
  DiscoverOptions only_allowed{true, [&](const Device& dev) { return ctx.policy.allowed(dev.path); }};
  for (auto& d : discover_devices(only_allowed))
    if (ctx.policy.allowed(d.path) && d.kind != "md" && !d.pttype && d.fstype == "linux_raid_member")
      out.push_back(std::move(d));
  return out;
}

void choose_members(RaidAssembly& out, std::vector<Candidate>& group, std::vector<Candidate>& chosen) {
  auto best = std::max_element(group.begin(), group.end(), [](const Candidate& a, const Candidate& b) {
    return a.sb.checksum_ok < b.sb.checksum_ok || (a.sb.checksum_ok == b.sb.checksum_ok && a.sb.events < b.sb.events);
  });
  const mdraid::Superblock freshest = best->sb;
  const std::string freshest_path = best->dev.path;
  // The freshest member is judged first, so a duplicate slot always leaves out the older one.
  std::iter_swap(group.begin(), best);
  std::vector<uint16_t> taken;
  auto leave_out = [&](const Candidate& c, const std::string& why) { out.left_out.push_back({c.dev.path, why}); };
  for (const auto& c : group) {
    const auto& sb = c.sb;
    if (!sb.checksum_ok) { leave_out(c, "superblock checksum is wrong"); continue; }
    if (sb.metadata != freshest.metadata) { leave_out(c, "metadata " + std::string(mdraid::metadata_text(sb.metadata)) + " differs from the array's"); continue; }
    try {
      require_not_in_use(c.dev);
    } catch (const Error& e) {
      leave_out(c, std::string("in use: ") + e.what());
      continue;
    }
    if (sb.events + 1 < freshest.events) {
      leave_out(c, "stale: events " + std::to_string(sb.events) + " < " + std::to_string(freshest.events) + " on " + freshest_path);
      continue;
    }
    if (&c != &group.front() && sb.is_active_member()) {
      uint16_t seen = sb.dev_number < freshest.roles.size() ? freshest.roles[sb.dev_number] : mdraid::kRoleSpare;
      if (seen != sb.role) {
        leave_out(c, "diverged: it claims " + role_text(sb.role) + " but " + freshest_path + " (events " +
                         std::to_string(freshest.events) + ") records device " + std::to_string(sb.dev_number) + " as " + role_text(seen));
        continue;
      }
    }
    if (sb.is_active_member()) {
      if (std::find(taken.begin(), taken.end(), sb.role) != taken.end()) { leave_out(c, "duplicate of slot " + std::to_string(sb.role)); continue; }
      taken.push_back(sb.role);
    }
    chosen.push_back(c);
  }
  for (uint32_t slot = 0; slot < freshest.raid_disks; ++slot)
    if (std::find(taken.begin(), taken.end(), slot) == taken.end()) out.missing_slots.push_back(static_cast<int>(slot));
}

RaidAssembly assemble_group(std::vector<Candidate>& group, const std::string& name, const RaidAssembleRequest& req,
                            const Context& ctx) {
  RaidAssembly out;
  out.name = name;
  out.uuid = mos::uuid_text(group.front().sb.array_uuid);
  out.metadata = group.front().sb.metadata;
  if (auto block = running_block_of(group)) {
    out.outcome = "already_running";
    out.array = raid::read_array(*block);
    for (const auto& c : group) {
      bool held = std::find(c.dev.holders.begin(), c.dev.holders.end(), "/dev/" + *block) != c.dev.holders.end();
      if (held) out.members.push_back(c.dev.path);
      else out.left_out.push_back({c.dev.path, "not part of the running array /dev/" + *block});
    }
    return out;
  }
  std::vector<Candidate> chosen;
  choose_members(out, group, chosen);
  std::vector<Device> devs;
  for (const auto& c : chosen) {
    out.members.push_back(c.dev.path);
    devs.push_back(c.dev);
  }
  bool any_active = std::any_of(chosen.begin(), chosen.end(), [](const Candidate& c) { return c.sb.is_active_member(); });
  const std::string degraded = out.missing_slots.empty() ? "" : "_degraded";
  if (!any_active) {
    out.outcome = "failed";
    out.error = "no usable active member of array " + name + " (" + out.uuid + ")";
    return out;
  }
  if (req.dry_run) {
    out.outcome = "would_start" + degraded;
    return out;
  }
  try {
    ctx.policy.require_allowed(raid_device_path(name));
    raid::require_md_driver();
    std::string block = raid::start_array(name, out.metadata, devs, req.read_only);
    out.outcome = "started" + degraded;
    out.array = raid::read_array(block);
  } catch (const Error& e) {
    out.outcome = "failed";
    out.error = e.what();
  }
  return out;
}

}  // namespace

void to_json(json& j, const RaidLeftOut& l) { j = json{{"device", l.device}, {"reason", l.reason}}; }

void to_json(json& j, const RaidAssembly& a) {
  j = json{{"name", a.name},       {"uuid", a.uuid},         {"metadata", mdraid::metadata_text(a.metadata)},
           {"outcome", a.outcome}, {"members", a.members},   {"missing_slots", a.missing_slots},
           {"left_out", a.left_out}, {"array", a.array ? json(*a.array) : json(nullptr)}, {"error", a.error}};
}

void to_json(json& j, const RaidAssembleResult& r) { j = json{{"arrays", r.arrays}}; }

RaidAssembleResult assemble_raids(const RaidAssembleRequest& req, const Context& ctx) {
  if (req.name) validate_raid_name(*req.name);
  std::optional<mdraid::Uuid> want_uuid;
  if (req.uuid) {
    want_uuid = mdraid::parse_uuid(*req.uuid);
    if (!want_uuid) throw_validation("uuid '" + *req.uuid + "' is not a UUID");
  }
  // Grouped by array UUID, in discovery order.
  std::vector<std::vector<Candidate>> groups;
  for (auto& d : candidate_devices(req, ctx)) {
    auto sb = read_member_superblock(d);
    if (!sb) {
      if (!req.devices.empty()) throw_validation(d.path + " carries no md superblock", d.path);
      continue;
    }
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& grp) { return grp.front().sb.array_uuid == sb->array_uuid; });
    if (g == groups.end()) groups.push_back({Candidate{std::move(d), std::move(*sb)}});
    else g->push_back(Candidate{std::move(d), std::move(*sb)});
  }
  RaidAssembleResult result;
  for (auto& group : groups) {
    if (want_uuid && group.front().sb.array_uuid != *want_uuid) continue;
    auto fresh = std::max_element(group.begin(), group.end(), [](const Candidate& a, const Candidate& b) { return a.sb.events < b.sb.events; });
    std::string name = array_name(group, fresh->sb);
    if (req.name && name != *req.name) continue;
    result.arrays.push_back(assemble_group(group, name, req, ctx));
  }
  return result;
}

}  // namespace mos::engine
