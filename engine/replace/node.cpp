// Reading the node of a disk replacement off the disks, and every refusal, before any write.
#include "engine/replace/node.hpp"

#include <algorithm>

#include "base/error.hpp"
#include "engine/btrfs/replace.hpp"
#include "engine/disk_access.hpp"
#include "engine/policy.hpp"
#include "engine/raid/raid.hpp"
#include "engine/replace/record.hpp"
#include "engine/safety.hpp"
#include "engine/sysvol/disks.hpp"
#include "gpt/types.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine::replace {
namespace {

std::string part_of(const Device& disk, uint32_t number) { return "/dev/" + partition_name(disk.name, number); }

const Device* by_path(const std::vector<Device>& all, const std::string& path) {
  for (const auto& d : all)
    if (d.path == path) return &d;
  return nullptr;
}

std::string fstype_of(const std::vector<Device>& all, const std::string& path) {
  const Device* d = by_path(all, path);
  return d && d->fstype ? *d->fstype : std::string("nothing");
}

// Whole devices of the allowed ones that carry the MOS layout, the new disk left out.
std::vector<sysvol::MosDisk> mos_disks(const std::vector<Device>& all, const Policy& policy, const std::string& new_disk) {
  std::vector<sysvol::MosDisk> out;
  for (const auto& d : all)
    if (d.path != new_disk && sysvol::eligible_kind(d, policy))
      if (auto m = sysvol::read_mos_disk(d)) out.push_back(std::move(*m));
  return out;
}

// The survivor (and OLD with --failed) among the MOS disks; refusals when they are not one node.
void pick_disks(Node& n, std::vector<sysvol::MosDisk> disks, const ReplaceRequest& req) {
  const bool replace_old = req.failed != "missing";
  if (replace_old) {
    const std::string old = canonical_device(req.failed);
    auto it = std::find_if(disks.begin(), disks.end(), [&](const auto& m) { return m.disk.path == old; });
    if (it == disks.end()) {
      n.refusals.push_back(old + " (--failed) is not a present disk carrying the MOS layout");
      return;
    }
    n.old = *it;
    disks.erase(it);
  }
  if (disks.empty()) {
    n.refusals.push_back("no other disk carries the MOS layout: this is not a two-disk MOS node");
  } else if (disks.size() > 1) {
    n.refusals.push_back("more than one disk carries the MOS layout (" + disks[0].disk.path + ", " + disks[1].disk.path +
                         (replace_old ? "): a node has two disks" : "): no disk is missing; name the disk to replace with --failed OLD"));
  } else {
    n.survivor = disks[0];
  }
}

// Two-disk layout: mosefi and mosboot are md members, mosdata is btrfs.
void check_two_disk(Node& n, const std::vector<Device>& all) {
  const auto& s = *n.survivor;
  for (uint32_t number : {2u, 3u}) {
    const std::string fs = fstype_of(all, s.partition_path(number));
    if (fs != "linux_raid_member")
      n.refusals.push_back("not a two-disk MOS node: " + s.partition_path(number) + " holds " + fs +
                           ", not an md member (a single-disk layout)");
  }
  const Device* data = by_path(all, s.partition_path(kDataNumber));
  if (!data || data->fstype != "btrfs" || !data->uuid) {
    n.refusals.push_back("not a MOS node: " + s.partition_path(kDataNumber) + " holds no btrfs");
    return;
  }
  n.data_fsid = *data->uuid;
}

MdMember member_state(const RaidArray& a, const std::string& dev, bool* present) {
  *present = false;
  for (const auto& m : a.members) {
    if (m.device != dev) continue;
    *present = true;
    if (m.state == "in_sync") return MdMember::in_sync;
    if (m.state == "faulty") return MdMember::absent;
    return MdMember::rebuilding;
  }
  return MdMember::absent;
}

void read_mirrors(Node& n, const Context& ctx) {
  const auto arrays = list_raids(ctx);
  for (const auto& mirror : kMirrors) {
    auto it = std::find_if(arrays.begin(), arrays.end(), [&](const auto& a) { return a.name == mirror.array; });
    if (it == arrays.end()) {
      n.refusals.push_back(std::string("md array ") + mirror.array +
                           " is not assembled (mos_sysvol assembles it at boot; or storage.assemble_raid)");
      continue;
    }
    bool present = false;
    if (member_state(*it, n.survivor->partition_path(mirror.number), &present) != MdMember::in_sync)
      n.refusals.push_back(std::string("md array ") + mirror.array + ": the survivor's " + n.survivor->partition_path(mirror.number) +
                           " is not an in-sync member");
    MirrorFacts& f = mirror.number == 2 ? n.facts.esp : n.facts.boot;
    f.new_member = member_state(*it, n.new_partition(mirror.number), &present);
    if (n.old) {
      member_state(*it, n.old_partition(mirror.number), &f.old_member);
      if (!f.old_member && !n.new_mos)
        n.refusals.push_back(n.old->disk.path + " (--failed) is not a member of md array " + mirror.array);
    }
  }
}

// A mount point of MOSDATA: a btrfs mount whose source is one of its members (sysfs lists them).
std::string data_mount_point(const std::string& fsid) {
  const auto members = io::list_dir("/sys/fs/btrfs/" + fsid + "/devices");
  for (const auto& m : io::read_mountinfo())
    if (m.fstype == "btrfs" && m.source.starts_with("/dev/") &&
        std::find(members.begin(), members.end(), m.source.substr(5)) != members.end())
      return m.mount_point;
  return "";
}

void read_btrfs_members(Node& n, const Context& ctx) {
  const auto members = btrfs::members_of(n.data_mount, ctx);
  const std::string new_data = canonical_device(n.new_partition(kDataNumber));
  bool missing = false, old_present = false;
  for (const auto& m : members) {
    if (m.missing) missing = true;
    else if (canonical_device(m.path) == new_data) n.facts.btrfs_new_member = true;
    else if (n.old && canonical_device(m.path) == canonical_device(n.old_partition(kDataNumber))) old_present = true;
  }
  n.facts.btrfs_source_present = n.old ? old_present : missing;
  if (n.old && !old_present && !n.new_mos)
    n.refusals.push_back(n.old->disk.path + " (--failed): its mosdata is not a device of MOSDATA");
  if (!n.old && !missing && !n.facts.btrfs_new_member)
    n.refusals.push_back("MOSDATA has no missing device: no disk is missing; name the disk to replace with --failed OLD");
  const auto status = btrfs::replace_status(n.data_mount, ctx);
  n.facts.btrfs_replace_running = status.state == "started" || status.state == "suspended";
  n.facts.btrfs_replace_permille = status.progress_permille;
  for (const auto& [type, profiles] : btrfs::chunk_profiles(n.data_mount, ctx))
    for (const auto& p : profiles)
      if (p != "raid1") n.facts.single_copy_chunks = true;
}

void read_btrfs(Node& n, const Context& ctx) {
  n.data_mount = data_mount_point(n.data_fsid);
  if (n.data_mount.empty()) {
    n.refusals.push_back("MOSDATA (btrfs " + n.data_fsid + ") is not mounted (mos_sysvol mounts it at boot, degraded when a disk is missing)");
    return;
  }
  try {
    read_btrfs_members(n, ctx);
  } catch (const Error& e) {
    n.refusals.push_back("MOSDATA at " + n.data_mount + ": " + e.what());
  }
}

// The survivor's partitions, as the new disk gets them: sizes, types, names; attributes without
// any record, plus the replacement record on every partition a step fills.
void plan_layout(Node& n) {
  const auto& t = n.survivor->table;
  for (const auto& e : t.entries) {
    const bool filled = e.number >= 2;
    const uint64_t attributes = (e.attributes & ~(sysvol::kRecordBits | kReplacePendingBit)) | (filled ? kReplacePendingBit : 0);
    n.layout.push_back({e.name, e.type.to_string(), e.sectors() * t.sector_size, attributes});
    n.starts.push_back(e.first_lba * t.sector_size);
  }
}

void check_size(Node& n) {
  const auto& t = n.survivor->table;
  const uint64_t gpt_tail = (t.disk_sectors - t.backup_entries_lba) * t.sector_size;
  const uint64_t required = (t.entries.back().last_lba + 1) * t.sector_size + gpt_tail;
  if (n.new_device.logical_sector_size != t.sector_size)
    n.refusals.push_back(n.new_device.path + " has " + std::to_string(n.new_device.logical_sector_size) +
                         "-byte sectors, the survivor " + std::to_string(t.sector_size) + ": the layout would differ");
  if (n.new_device.size_bytes < required)
    n.refusals.push_back(n.new_device.path + " is too small: " + std::to_string(n.new_device.size_bytes) + " bytes, the survivor's layout needs " +
                         std::to_string(required));
  else if (n.new_device.size_bytes > n.survivor->disk.size_bytes)
    n.notes.push_back(n.new_device.path + " is " + std::to_string(n.new_device.size_bytes - n.survivor->disk.size_bytes) +
                      " bytes larger than the survivor: the extra space stays free");
}

// Our own half-made replacement (resume) or a blank disk; anything else is refused.
void check_new_content(Node& n, const std::vector<Device>& all) {
  if (n.new_mos && has_replace_record(n.new_mos->table)) {
    for (uint32_t number : {2u, 3u, kDataNumber}) {
      const Device* p = by_path(all, n.new_partition(number));
      if (!p || !p->fstype || !p->uuid) continue;
      const bool ours = number == kDataNumber ? *p->uuid == n.data_fsid : *p->fstype == "linux_raid_member";
      if (!ours) n.refusals.push_back(n.new_partition(number) + " carries " + *p->fstype + " that is not this node's");
    }
    return;
  }
  try {
    require_unused(n.new_device.path, false);
  } catch (const Error& e) {
    n.refusals.push_back(n.new_device.path + " is not blank or not free (" + e.what() +
                         "); replace-disk never forces: wipe it first (storage.wipe_signatures)");
  }
}

// The new disk's partitions must land where the survivor's are (its alignment may differ).
void check_placement(Node& n, const Context& ctx) {
  auto r = create_partition_layout(n.new_device.path, n.layout, false, true, ctx);
  for (size_t i = 0; i < r.partitions.size() && i < n.starts.size(); ++i)
    if (r.partitions[i].start_bytes != n.starts[i])
      n.refusals.push_back(n.new_device.path + ": partition " + std::to_string(i + 1) + " would start at " +
                           std::to_string(r.partitions[i].start_bytes) + ", the survivor's at " + std::to_string(n.starts[i]));
}

}  // namespace

std::string Node::new_partition(uint32_t number) const { return part_of(new_device, number); }
std::string Node::old_partition(uint32_t number) const { return old ? part_of(old->disk, number) : ""; }

Node read_node(const ReplaceRequest& req, const Context& ctx) {
  Node n;
  const std::string new_path = ctx.policy.judge(req.new_disk, Access::table);
  const auto all = discover_devices(DiscoverOptions{true, [&](const Device& d) { return ctx.policy.allowed(d.path); }});
  const Device* nd = by_path(all, new_path);
  if (!nd) throw Error(ErrorCode::not_found, new_path + " is not a block device", new_path);
  n.new_device = *nd;
  if (nd->kind == "partition" || nd->kind == "md" || nd->kind == "dm")
    n.refusals.push_back(new_path + " is a " + nd->kind + ", not a whole disk");
  n.new_mos = sysvol::read_mos_disk(*nd);
  if (n.new_mos && !has_replace_record(n.new_mos->table)) {
    n.refusals.push_back(new_path + " carries the MOS layout without a replacement record: it is a disk of a node " +
                         "(the survivor, or a replacement already finished); replace-disk needs a blank disk");
    return n;
  }
  if (req.failed != "missing" && canonical_device(req.failed) == new_path) {
    n.refusals.push_back(new_path + " is the disk being replaced (--failed)");
    return n;
  }
  pick_disks(n, mos_disks(all, ctx.policy, new_path), req);
  if (!n.survivor) return n;
  n.facts.replace_old = n.old.has_value();
  check_two_disk(n, all);
  if (!n.refusals.empty()) return n;
  check_new_content(n, all);
  check_size(n);
  plan_layout(n);
  n.facts.gpt_written = n.new_mos && has_replace_record(n.new_mos->table);
  if (n.facts.gpt_written) {
    std::set<uint32_t> pending;
    for (const auto& e : n.new_mos->table.entries)
      if (e.attributes & kReplacePendingBit) pending.insert(e.number);
    n.facts.esp.pending = pending.count(2);
    n.facts.boot.pending = pending.count(3);
    n.facts.swap_pending = pending.count(kSwapNumber);
    n.facts.data_pending = pending.count(kDataNumber);
    n.facts.swap_signature = fstype_of(all, n.new_partition(kSwapNumber)) == "swap";
    const auto busy = busy_reason(partition_name(n.new_device.name, kSwapNumber), false);
    n.facts.swap_active = busy && busy->ends_with("in use as swap");
  } else if (n.refusals.empty()) {
    check_placement(n, ctx);
  }
  read_mirrors(n, ctx);
  if (n.refusals.empty() || !n.data_fsid.empty()) read_btrfs(n, ctx);
  return n;
}

}  // namespace mos::engine::replace
