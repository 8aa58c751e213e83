// Array names, status from sysfs (state, degraded, sync progress, members), list, JSON.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <ctime>
#include <regex>

#include "engine/raid/raid.hpp"
#include "engine/raid/internal.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/md.hpp"
#include "ioctl/sysfs.hpp"
#include "mdraid/superblock.hpp"
#include "base/text.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {

void validate_raid_name(const std::string& name) {
  static const std::regex kName("[A-Za-z0-9_-]{1,32}");
  if (!std::regex_match(name, kName))
    throw_validation("array name '" + name + "' must be 1-32 characters of A-Z a-z 0-9 _ -");
}

std::string raid_block_name(const std::string& name) { return "md_" + name; }
std::string raid_device_path(const std::string& name) { return "/dev/md_" + name; }
std::string raid_link_path(const std::string& name) { return "/dev/md/" + name; }

void to_json(json& j, const RaidMember& m) {
  j = json{{"device", m.device}, {"slot", m.slot}, {"state", m.state}, {"events", m.events}};
}

void to_json(json& j, const RaidArray& a) {
  j = json{{"name", a.name},
           {"device", a.device},
           {"link", a.link},
           {"metadata", a.metadata},
           {"uuid", a.uuid},
           {"level", a.level},
           {"state", a.state},
           {"raid_disks", a.raid_disks},
           {"degraded", a.degraded},
           {"sync_action", a.sync_action},
           {"sync_done_bytes", a.sync_done_bytes},
           {"sync_total_bytes", a.sync_total_bytes},
           {"size_bytes", a.size_bytes},
           {"members", a.members}};
}

namespace raid {

uint64_t now_seconds() { return static_cast<uint64_t>(std::time(nullptr)); }

std::string name_of_block(const std::string& block) {
  return block.rfind("md_", 0) == 0 ? block.substr(3) : block;
}

std::string resolve_md_block(const std::string& array) {
  if (array.empty()) throw_validation("array is empty: give a name (mosefi) or an md device path");
  if (array.find('/') == std::string::npos) {
    if (array.find("..") != std::string::npos) throw_validation("array name '" + array + "' is not valid");
    if (io::md::md_device_exists(raid_block_name(array))) return raid_block_name(array);
    if (io::md::md_device_exists(array)) return array;
    throw Error(ErrorCode::not_found, "no md array named " + array + " (no /sys/block/md_" + array + ")", array);
  }
  std::string block = device_name_from_path(array);
  if (!io::md::md_device_exists(block)) throw_validation(array + " is not an md device", array);
  return block;
}

void require_md_allowed(const std::string& block, const Context& ctx) { ctx.policy.require_allowed("/dev/" + block); }

bool array_running(const std::string& block) {
  auto state = io::md::attribute(block, "array_state");
  return state && *state != "clear" && *state != "inactive";
}

namespace {

std::string member_state(const io::md::SysfsMember& m) {
  if (m.state.find("faulty") != std::string::npos) return "faulty";
  if (m.state.find("in_sync") != std::string::npos) return "in_sync";
  if (m.slot) return "rebuilding";
  return "spare";
}

// The member's superblock as the kernel last wrote it (its page cache is dropped first: md
// writes superblocks around it).
std::optional<mdraid::Superblock> member_superblock(const std::string& dev) {
  try {
    io::Fd fd = io::open_block(dev, O_RDONLY);
    io::blk_flush_buffers(fd);
    return mdraid::read_superblock(fd, io::block_facts(fd).size_bytes);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

RaidArray read_array(const std::string& block) {
  RaidArray a;
  a.name = name_of_block(block);
  a.device = "/dev/" + block;
  char buf[PATH_MAX];
  if (auto link = raid_link_path(a.name); ::realpath(link.c_str(), buf) && a.device == buf) a.link = link;
  a.metadata = io::md::attribute(block, "metadata_version").value_or("");
  a.level = io::md::attribute(block, "level").value_or("");
  a.state = io::md::attribute(block, "array_state").value_or("");
  a.raid_disks = static_cast<unsigned>(io::sysfs_u64("/sys/block/" + block + "/md/raid_disks").value_or(0));
  a.degraded = static_cast<unsigned>(io::sysfs_u64("/sys/block/" + block + "/md/degraded").value_or(0));
  a.sync_action = io::md::attribute(block, "sync_action");
  if (auto p = io::md::sync_completed(block)) {
    a.sync_done_bytes = p->done_sectors * 512;
    a.sync_total_bytes = p->total_sectors * 512;
  }
  a.size_bytes = io::sysfs_u64("/sys/block/" + block + "/size").value_or(0) * 512;
  std::vector<bool> slot_taken(a.raid_disks, false);
  for (const auto& m : io::md::sysfs_members(block)) {
    RaidMember rm{"/dev/" + m.block_name, m.slot, member_state(m), std::nullopt};
    if (auto sb = member_superblock(*rm.device)) {
      rm.events = sb->events;
      if (!a.uuid) a.uuid = mos::uuid_text(sb->array_uuid);
    }
    if (m.slot && *m.slot >= 0 && static_cast<unsigned>(*m.slot) < a.raid_disks && rm.state != "faulty")
      slot_taken[static_cast<size_t>(*m.slot)] = true;
    a.members.push_back(std::move(rm));
  }
  for (unsigned s = 0; s < a.raid_disks; ++s)
    if (!slot_taken[s]) a.members.push_back(RaidMember{std::nullopt, static_cast<int>(s), "missing", std::nullopt});
  std::stable_sort(a.members.begin(), a.members.end(), [](const RaidMember& x, const RaidMember& y) {
    return x.slot.value_or(INT_MAX) < y.slot.value_or(INT_MAX);
  });
  return a;
}

}  // namespace raid

std::vector<RaidArray> list_raids(const Context&) {
  std::vector<RaidArray> out;
  for (const auto& block : io::md::list_md_devices())
    if (io::md::attribute(block, "array_state").value_or("clear") != "clear") out.push_back(raid::read_array(block));
  return out;
}

}  // namespace mos::engine
