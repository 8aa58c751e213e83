#include "engine/format/format.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <memory>
#include <cstdlib>
#include <cstdio>

#include "engine/inventory/content.hpp"
#include "engine/format/write.hpp"
#include "engine/member_open.hpp"
#include "engine/safety.hpp"
#include "engine/sysvol/topologies.hpp"
#include "engine/format/btrfs_uuid.hpp"
#include "fsmake/fat32.hpp"
#include "fsmake/label.hpp"
#include "fsmake/swap.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/btrfs_control.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/sysfs.hpp"

#include "fsmake/btrfs.hpp"
#include "fsmake/ext4.hpp"
#include "fsmake/probe/probe.hpp"
#include "base/text.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kWipeBytes = 1ull << 20;
constexpr uint64_t kBtrfsSuperblockBytes = 4096;

Uuid parse_uuid(const std::string& text, const std::string& fstype) {
  if (auto u = mos::parse_uuid(text)) return *u;
  throw_validation("uuid '" + text + "' for " + fstype +
                     " must look like 01234567-89ab-cdef-0123-456789abcdef (36 characters)");
}

// FAT volume ids are 32-bit; blkid prints them as XXXX-XXXX.
uint32_t parse_volume_id(const std::string& text) {
  std::string hex = text;
  if (hex.size() == 9 && hex[4] == '-') hex.erase(4, 1);
  bool ok = hex.size() == 8 && std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); });
  if (!ok) throw_validation("uuid '" + text + "' for vfat must be a volume id like 1A2B-3C4D (8 hex digits)");
  return static_cast<uint32_t>(std::stoul(hex, nullptr, 16));
}

void require_no_ext4_options(const FormatRequest& req) {
  if (req.full_init) throw_validation("option full_init applies to ext4 only, not " + req.fstype);
  if (req.block_size) throw_validation("option block_size applies to ext4 only, not " + req.fstype);
}

// Label, uuid and options per fstype, checked before the device is even opened.
void validate_request(const FormatRequest& req) {
  if (req.fstype == "vfat") {
    require_no_ext4_options(req);
    fsmake::fat32::validate_label(req.label);
    if (req.uuid) parse_volume_id(*req.uuid);
  } else if (req.fstype == "swap") {
    require_no_ext4_options(req);
    fsmake::validate_label("swap", req.label, fsmake::swap::kLabelBytes);
    if (req.uuid) parse_uuid(*req.uuid, "swap");
  } else if (req.fstype == "ext4") {
    fsmake::validate_label("ext4", req.label, 16);
    if (req.uuid) parse_uuid(*req.uuid, "ext4");
  } else if (req.fstype == "btrfs") {
    require_no_ext4_options(req);
    fsmake::validate_label("btrfs", req.label, 255);
    if (req.uuid) parse_uuid(*req.uuid, "btrfs");
  } else if (req.fstype == "bcachefs") {
    // A known filesystem we cannot make: a storage failure with the reason, not a bad parameter.
    std::string why = kernel_filesystems({}).bcachefs ? "" : "kernel has no bcachefs (neither in /proc/filesystems "
                                                             "nor as a module); ";
    throw Error(ErrorCode::storage_failed, "cannot create bcachefs on " + req.device + ": " + why +
                                               "mos_volmgr has no native bcachefs writer yet (use btrfs)",
                req.device);
  } else {
    throw Error(ErrorCode::invalid_params, "fstype '" + req.fstype + "' is not one of vfat, ext4, swap, btrfs, bcachefs");
  }
  if (req.fstype != "btrfs") {
    if (!req.devices.empty()) throw_validation("devices (more than one member) applies to btrfs only, not " + req.fstype);
    if (req.profile || req.data_profile || req.metadata_profile)
      throw_validation("profiles apply to btrfs only, not " + req.fstype);
  }
}

// One plan per member: mkfs.btrfs over every device at once (they share one fsid).
std::vector<mos::WritePlan> btrfs_plans(const FormatRequest& req, const std::vector<io::BlockFacts>& facts,
                                       const std::vector<std::string>& paths, const Context& ctx,
                                       std::optional<std::string>& uuid) {
  fsmake::btrfs::BtrfsOptions o;
  o.label = req.label;
  std::optional<Uuid> requested;
  if (req.uuid) requested = parse_uuid(*req.uuid, "btrfs");
  o.fsid = unique_btrfs_fsid(requested, random_uuid, paths, ctx);
  if (req.profile) o.data_profile = o.metadata_profile = *req.profile;
  if (req.data_profile) o.data_profile = *req.data_profile;
  if (req.metadata_profile) o.metadata_profile = *req.metadata_profile;
  std::vector<fsmake::btrfs::BtrfsDevice> devices;
  for (const auto& f : facts) devices.push_back({f.size_bytes, f.logical_sector_size});
  uuid = mos::uuid_text(*o.fsid);
  return fsmake::btrfs::plan_mkfs(o, devices);
}

// Member paths as /dev/NAME, each allowed by the policy, none named twice.
std::vector<std::string> member_paths(const FormatRequest& req, const Context& ctx) {
  std::vector<std::string> paths;
  std::vector<std::string> given{req.device};
  given.insert(given.end(), req.devices.begin(), req.devices.end());
  for (const auto& d : given) {
    // The policy judges the canonical node (by-id links included) before anything else, so a
    // refused device is not even looked up.
    std::string path = ctx.policy.judge(d, Access::write);
    device_name_from_path(path);  // a block device the kernel knows
    if (std::find(paths.begin(), paths.end(), path) != paths.end())
      throw_validation(d + " is named twice among the devices (" + path + ")", d);
    paths.push_back(path);
  }
  return paths;
}

// The writer's plan for this device; `uuid` receives the identifier as blkid will print it.
mos::WritePlan writer_plan(const FormatRequest& req, const Device& dev, const io::BlockFacts& facts,
                          std::optional<std::string>& uuid) {
  if (req.fstype == "vfat") {
    fsmake::fat32::Fat32Options o;
    o.label = req.label;
    o.volume_id = req.uuid ? parse_volume_id(*req.uuid) : fsmake::fat32::random_volume_id();
    // BPB_HiddSec: where the partition starts, in logical sectors (0 for a whole device).
    if (dev.kind == "partition" && dev.start_bytes) o.hidden_sectors = static_cast<uint32_t>(*dev.start_bytes / facts.logical_sector_size);
    // A requested 0000-0000 is written as mkfs.fat -i 0 does; blkid then reports no UUID.
    if (*o.volume_id != 0) uuid = fsmake::fat32::volume_id_string(*o.volume_id);
    return fsmake::fat32::plan_mkfs(o, facts.size_bytes, facts.logical_sector_size);
  }
  if (req.fstype == "swap") {
    fsmake::swap::SwapOptions o;
    o.label = req.label;
    o.uuid = req.uuid ? parse_uuid(*req.uuid, "swap") : random_uuid();
    uuid = mos::uuid_text(*o.uuid);
    return fsmake::swap::plan_mkswap(o, facts.size_bytes);
  }
  if (req.fstype == "ext4") {
    fsmake::ext4::Ext4Options o;
    o.label = req.label;
    o.uuid = req.uuid ? parse_uuid(*req.uuid, "ext4") : random_uuid();
    o.full_init = req.full_init.value_or(false);
    o.block_size = req.block_size.value_or(0);
    uuid = mos::uuid_text(*o.uuid);
    return fsmake::ext4::plan_mkfs(o, facts.size_bytes, facts.logical_sector_size);
  }
  throw Error(ErrorCode::invalid_params, "fstype '" + req.fstype + "' is not one of vfat, ext4, swap, btrfs");
}

// Every signature the prober finds (wipefs --all) is refused without force and, with force,
// erased sector-wise where the first/last-MiB wipe does not reach (btrfs mirrors, ...).
void handle_old_signatures(fsmake::ProbeSource& src, const FormatRequest& req, const std::string& path,
                           mos::PlanStep& wipe) {
  auto sigs = fsmake::find_signatures(src);
  if (sigs.empty()) return;
  if (!req.force)
    throw Error(ErrorCode::validation,
                path + " carries a " + sigs.front().type + " signature at byte " + std::to_string(sigs.front().offset) +
                    "; pass force to overwrite it",
                path);
  const uint64_t sector = src.sector_size(), size = src.size();
  for (const auto& sig : sigs) {
    uint64_t start = sig.offset / sector * sector;
    uint64_t end = std::min(size, (sig.offset + sig.length + sector - 1) / sector * sector);
    bool covered = std::any_of(wipe.zeroes.begin(), wipe.zeroes.end(), [&](const mos::PlannedZero& z) {
      return z.offset <= start && end <= z.offset + z.length;
    });
    if (!covered) wipe.zeroes.push_back({start, end - start, "old " + sig.type + " signature"});
  }
}

}  // namespace

// Tells udev the content changed so /dev/disk/by-* links follow; the data is already safe, so
// a missing uevent file (no sysfs in a chroot) is not a failure of the format.
void announce_content_change(const std::string& name) {
  try {
    io::sysfs_write("/sys/class/block/" + name + "/uevent", "change");
  } catch (const Error&) {
  }
}

mos::PlanStep old_signature_wipe(uint64_t size) {
  mos::PlanStep step{"wipe-old-signatures", {}, {}};
  if (size <= 2 * kWipeBytes) {
    step.zeroes.push_back({0, size, "whole device (old signatures)"});
    return step;
  }
  step.zeroes.push_back({0, kWipeBytes, "first MiB (old partition tables, filesystem magics)"});
  // btrfs superblock mirrors: neither blkid nor a primary-only wipe sees them, but
  // `btrfs rescue super-recover` would bring the old filesystem back from them.
  for (uint64_t mirror : {64ull << 20, 256ull << 30})
    if (mirror + kBtrfsSuperblockBytes <= size - kWipeBytes)
      step.zeroes.push_back({mirror, kBtrfsSuperblockBytes, "old btrfs superblock mirror"});
  step.zeroes.push_back({size - kWipeBytes, kWipeBytes, "last MiB (GPT backup, md superblocks)"});
  return step;
}

void to_json(json& j, const FormatResult& r) {
  j = json{{"device", r.device}, {"fstype", r.fstype},   {"label", r.label},    {"uuid", r.uuid},
           {"dry_run", r.dry_run}, {"plan", r.plan}, {"members", r.members}};
}

void to_json(json& j, const FormatMember& m) { j = json{{"device", m.device}, {"plan", m.plan}}; }

namespace {

// MOS_VOLMGR_TRACE_FORMAT=1: one stderr line per phase of create_filesystem with its ms (where a
// slow call spends its time); silent otherwise.
struct PhaseTimer {
  bool on = std::getenv("MOS_VOLMGR_TRACE_FORMAT") != nullptr;
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  void mark(const char* what) {
    if (!on) return;
    auto n = std::chrono::steady_clock::now();
    std::fprintf(stderr, "format %-12s %.3f ms\n", what, std::chrono::duration<double, std::milli>(n - t).count());
    t = n;
  }
};

}  // namespace

FormatResult create_filesystem(const FormatRequest& req, const Context& ctx) {
  PhaseTimer pt;
  const std::vector<std::string> paths = member_paths(req, ctx);
  pt.mark("judge");
  validate_request(req);
  std::vector<Device> devs;
  for (const auto& path : paths) devs.push_back(require_idle(path));
  pt.mark("unused");

  // udev convention: hold LOCK_EX on the whole-disk node while its content changes. From here
  // nothing can mount, swap on or claim a member, so what is read next stays true until written.
  OpenedMembers opened = open_members_locked(devs, req.dry_run);
  pt.mark("open");
  std::vector<io::Fd>& fds = opened.fds;
  const std::vector<io::BlockFacts>& facts = opened.facts;
  // One read of each member's head and tail windows serves the content gate, the signature
  // list and (following the plan's writes) the probe of the result.
  std::vector<std::unique_ptr<fsmake::ProbeSource>> sources;
  for (size_t i = 0; i < paths.size(); ++i) {
    sources.push_back(std::make_unique<fsmake::ProbeSource>(fds[i], facts[i].size_bytes, facts[i].logical_sector_size,
                                                                fsmake::ProbeSource::Read::whole));
    pt.mark("read");
    require_blank_unless_forced(devs[i], *sources[i], req.force);
  }
  pt.mark("gate");

  std::optional<std::string> uuid;
  std::vector<mos::WritePlan> plans;
  if (req.fstype == "btrfs") plans = btrfs_plans(req, facts, paths, ctx, uuid);
  else plans.push_back(writer_plan(req, devs[0], facts[0], uuid));
  pt.mark("plan");
  for (size_t i = 0; i < paths.size(); ++i) {
    mos::PlanStep wipe = old_signature_wipe(facts[i].size_bytes);
    handle_old_signatures(*sources[i], req, paths[i], wipe);
    plans[i].steps.insert(plans[i].steps.begin(), std::move(wipe));
  }
  pt.mark("signatures");

  // The label as blkid will show it: none for FAT's "NO NAME". A dry run answers with the
  // devices as they are (their content facts included).
  const std::string label = req.fstype == "vfat" && fsmake::fat32::means_no_label(req.label) ? "" : req.label;
  FormatResult result{devs[0], req.fstype, label, uuid, req.dry_run, summarize_plan(plans[0]), {}};
  for (size_t i = 0; i < paths.size(); ++i) result.members.push_back({devs[i], summarize_plan(plans[i])});
  pt.mark("summary");
  if (req.dry_run) return result;

  // Two flushes per member (everything before the commit record, then the commit record): the
  // filesystem is durable before we answer.
  for (size_t i = 0; i < paths.size(); ++i) apply_format_plan(fds[i], plans[i], *sources[i]);
  pt.mark("write");
  for (size_t i = 0; i < paths.size(); ++i) {
    // What is on the device now: the windows as the plan's steps left them (the device was held
    // exclusively throughout and every write and flush succeeded), probed without reading again.
    fill_content_from(devs[i], fsmake::probe_device(*sources[i]));
    result.members[i].device = devs[i];
  }
  sources.clear();
  opened.release();
  pt.mark("result");
  for (size_t i = 0; i < paths.size(); ++i) {
    announce_content_change(devs[i].name);
    // The kernel assembles a multi-device btrfs only from devices registered with it; a
    // single device registers itself when mounted.
    if (req.fstype == "btrfs" && paths.size() > 1) io::btrfs_scan_device(paths[i]);
  }
  result.device = result.members[0].device;
  pt.mark("after");
  return result;
}

}  // namespace mos::engine
