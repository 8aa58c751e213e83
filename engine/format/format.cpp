#include "engine/format/format.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <memory>
#include <cstdlib>
#include <cerrno>
#include <cstdio>

#include "engine/inventory/content.hpp"
#include "engine/format/plans.hpp"
#include "engine/format/write.hpp"
#include "engine/fstypes.hpp"
#include "engine/member_open.hpp"
#include "engine/safety.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/sysfs.hpp"

#include "fsmake/probe/probe.hpp"

namespace mos::engine {
namespace {

constexpr uint64_t kWipeBytes = 1ull << 20;
constexpr uint64_t kBtrfsSuperblockBytes = 4096;

// A known type without a writer: a storage failure with the reason, not a bad parameter.
[[noreturn]] void refuse_creation(const FilesystemType& type, const std::string& device) {
  std::string why =
      kernel_has(type) ? "" : "kernel has no " + type.name + " (neither in /proc/filesystems nor as a module); ";
  throw Error(ErrorCode::storage_failed, "cannot create " + type.name + " on " + device + ": " + why + type.refusal,
              device);
}

// "option full_init applies to ext4 only, not vfat": the types whose writer reads the option.
void require_writer_takes(const FilesystemType& type, bool given, const std::string& option) {
  if (!given || type.takes_writer_option(option)) return;
  throw_validation("option " + option + " applies to " + fstypes_taking(option) + " only, not " + type.name);
}

// Label, uuid and options as the type's table entry allows, checked before the device is even opened.
void validate_request(const FormatRequest& req) {
  const FilesystemType& type = filesystem_type(req.fstype);
  if (!type.creatable()) refuse_creation(type, req.device);
  require_writer_takes(type, req.full_init.has_value(), "full_init");
  require_writer_takes(type, req.block_size.has_value(), "block_size");
  type.label.check(type.name, req.label, type.label.max_bytes);
  if (req.uuid) check_requested_id(type, *req.uuid);
  if (!type.multi_device()) {
    const std::string multi = multi_device_fstypes();
    if (!req.devices.empty())
      throw_validation("devices (more than one member) applies to " + multi + " only, not " + type.name);
    if (req.profile || req.data_profile || req.metadata_profile)
      throw_validation("profiles apply to " + multi + " only, not " + type.name);
  }
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

// Every signature the prober finds (wipefs --all) is refused without force and, with force,
// erased sector-wise where the first/last-MiB wipe does not reach (btrfs mirrors, ...), with the
// copies of a wiped format the prober proves its own (ext4 backup superblocks of its geometry):
// left behind, they would bring the old filesystem back (e2fsck -b) or read as it, damaged.
void handle_old_signatures(fsmake::ProbeSource& src, const FormatRequest& req, const std::string& path,
                           mos::PlanStep& wipe) {
  auto sigs = fsmake::find_signatures(src);
  if (sigs.empty()) return;
  if (!req.force)
    throw Error(ErrorCode::validation,
                path + " carries a " + sigs.front().type + " signature at byte " + std::to_string(sigs.front().offset) +
                    "; pass force to overwrite it",
                path);
  const size_t primaries = sigs.size();
  for (auto& copy : fsmake::find_copy_signatures(src))
    if (std::any_of(sigs.begin(), sigs.begin() + static_cast<std::ptrdiff_t>(primaries),
                    [&](const fsmake::Signature& p) { return p.type == copy.type; }))
      sigs.push_back(std::move(copy));
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

  const FilesystemType& type = filesystem_type(req.fstype);
  WriterPlans written = type.plan(PlanInput{req, devs, facts, paths, ctx});
  std::vector<mos::WritePlan>& plans = written.plans;
  const std::optional<std::string>& uuid = written.uuid;
  pt.mark("plan");
  for (size_t i = 0; i < paths.size(); ++i) {
    mos::PlanStep wipe = old_signature_wipe(facts[i].size_bytes);
    handle_old_signatures(*sources[i], req, paths[i], wipe);
    plans[i].steps.insert(plans[i].steps.begin(), std::move(wipe));
  }
  pt.mark("signatures");

  // The label as blkid will show it: none for FAT's "NO NAME". A dry run answers with the
  // devices as they are (their content facts included).
  const std::string label = type.label.means_none && type.label.means_none(req.label) ? "" : req.label;
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
    if (type.multi_device() && paths.size() > 1) type.register_member(paths[i]);
  }
  result.device = result.members[0].device;
  pt.mark("after");
  return result;
}

}  // namespace mos::engine
