#include "engine/format/plans.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "base/error.hpp"
#include "base/uuid.hpp"
#include "engine/format/btrfs_uuid.hpp"
#include "fsmake/btrfs.hpp"
#include "fsmake/ext4.hpp"
#include "fsmake/fat32.hpp"
#include "fsmake/swap.hpp"

namespace mos::engine {
namespace {

mos::Uuid parse_requested_uuid(const std::string& text, const std::string& fstype) {
  if (auto u = mos::parse_uuid(text)) return *u;
  throw_validation("uuid '" + text + "' for " + fstype +
                   " must look like 01234567-89ab-cdef-0123-456789abcdef (36 characters)");
}

// FAT volume ids are 32-bit; blkid prints them as XXXX-XXXX.
uint32_t parse_volume_id(const std::string& text, const std::string& fstype) {
  std::string hex = text;
  if (hex.size() == 9 && hex[4] == '-') hex.erase(4, 1);
  bool ok = hex.size() == 8 && std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); });
  if (!ok) throw_validation("uuid '" + text + "' for " + fstype + " must be a volume id like 1A2B-3C4D (8 hex digits)");
  return static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
}

// A single-device writer's answer (moved, not copied: an ext4 plan can carry megabytes).
WriterPlans one_plan(mos::WritePlan plan, std::optional<std::string> uuid) {
  WriterPlans out{{}, std::move(uuid)};
  out.plans.push_back(std::move(plan));
  return out;
}

// The requested uuid, or a random one.
mos::Uuid uuid_for(const FormatRequest& req) {
  return req.uuid ? parse_requested_uuid(*req.uuid, req.fstype) : mos::random_uuid();
}

}  // namespace

void check_requested_id(const FilesystemType& type, const std::string& text) {
  if (type.id_kind == IdKind::fat_volume_id) parse_volume_id(text, type.name);
  else parse_requested_uuid(text, type.name);
}

WriterPlans plan_vfat(const PlanInput& in) {
  const Device& dev = in.devices.front();
  const io::BlockFacts& facts = in.facts.front();
  fsmake::fat32::Fat32Options o;
  o.label = in.req.label;
  o.volume_id = in.req.uuid ? parse_volume_id(*in.req.uuid, in.req.fstype) : fsmake::fat32::random_volume_id();
  // BPB_HiddSec: where the partition starts, in logical sectors (0 for a whole device).
  if (dev.kind == "partition" && dev.start_bytes)
    o.hidden_sectors = static_cast<uint32_t>(*dev.start_bytes / facts.logical_sector_size);
  // A requested 0000-0000 is written as mkfs.fat -i 0 does; blkid then reports no UUID.
  std::optional<std::string> uuid;
  if (*o.volume_id != 0) uuid = fsmake::fat32::volume_id_string(*o.volume_id);
  return one_plan(fsmake::fat32::plan_mkfs(o, facts.size_bytes, facts.logical_sector_size), uuid);
}

WriterPlans plan_swap(const PlanInput& in) {
  fsmake::swap::SwapOptions o;
  o.label = in.req.label;
  o.uuid = uuid_for(in.req);
  return one_plan(fsmake::swap::plan_mkswap(o, in.facts.front().size_bytes), mos::uuid_text(*o.uuid));
}

WriterPlans plan_ext4(const PlanInput& in) {
  const io::BlockFacts& facts = in.facts.front();
  fsmake::ext4::Ext4Options o;
  o.label = in.req.label;
  o.uuid = uuid_for(in.req);
  o.full_init = in.req.full_init.value_or(false);
  o.block_size = in.req.block_size.value_or(0);
  return one_plan(fsmake::ext4::plan_mkfs(o, facts.size_bytes, facts.logical_sector_size), mos::uuid_text(*o.uuid));
}

// One plan per member: mkfs.btrfs over every device at once (they share one fsid).
WriterPlans plan_btrfs(const PlanInput& in) {
  const FormatRequest& req = in.req;
  fsmake::btrfs::BtrfsOptions o;
  o.label = req.label;
  std::optional<mos::Uuid> requested;
  if (req.uuid) requested = parse_requested_uuid(*req.uuid, req.fstype);
  o.fsid = unique_btrfs_fsid(requested, mos::random_uuid, in.paths, in.ctx);
  if (req.profile) o.data_profile = o.metadata_profile = *req.profile;
  if (req.data_profile) o.data_profile = *req.data_profile;
  if (req.metadata_profile) o.metadata_profile = *req.metadata_profile;
  std::vector<fsmake::btrfs::BtrfsDevice> devices;
  for (const auto& f : in.facts) devices.push_back({f.size_bytes, f.logical_sector_size});
  return {fsmake::btrfs::plan_mkfs(o, devices), mos::uuid_text(*o.fsid)};
}

}  // namespace mos::engine
