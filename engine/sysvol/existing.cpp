// mos_sysvol on existing MOS storage: find it by label, scan btrfs members, create missing
// subvolumes, mount subvolumes / boot / ESP, swapon, create dirs.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include "engine/apply_plan.hpp"
#include "engine/btrfs/subvolumes.hpp"
#include "engine/inventory/content.hpp"
#include "engine/mount.hpp"
#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/steps.hpp"
#include "fsmake/btrfs_super.hpp"
#include "ioctl/btrfs_control.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/mount.hpp"
#include "ioctl/swap_control.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine::sysvol {
namespace {

bool is(const Device& d, const char* fstype, const char* label) {
  return d.fstype && *d.fstype == fstype && d.label && *d.label == label;
}

// num_devices from the primary superblock of one member (how many members the fs expects).
uint64_t btrfs_expected_members(const std::string& dev) {
  io::Fd fd = io::open_block(dev, O_RDONLY);
  auto sb = fsmake::btrfs::parse_super(fd.pread_vec(fsmake::btrfs::kSuperSize, fsmake::btrfs::kSuperOffset),
                                       fsmake::btrfs::kSuperOffset);
  return sb.num_devices.get();
}

std::string join_options(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "," + b;
}

// Mounts and reports; false (and an error in the report) on failure.
bool mount_one(const std::string& source, const std::string& target, const std::string& fstype,
               const std::string& options, const Context& ctx, Reporter& rep) {
  try {
    auto r = engine::mount({source, target, fstype, options}, ctx);
    if (r.already_mounted) rep.done(target + ": " + source + " already mounted");
    else rep.done("mounted " + source + " (" + fstype + ") at " + target + " [" + options + "]");
    return true;
  } catch (const Error& e) {
    rep.error("mount " + source + " at " + target + " failed: " + e.what());
    rep.out_of_service(fstype + " " + source + " (not mounted at " + target + ")");
    return false;
  }
}

// The MOSDATA filesystem's members. Two filesystems were refused before (installations.hpp);
// should two still meet here, neither is used.
std::vector<Device> data_members(const Found& f, Reporter& rep) {
  std::set<std::string> fsids;
  for (const auto& d : f.data) fsids.insert(d.uuid.value_or(""));
  if (fsids.size() > 1) {
    rep.error("more than one MOSDATA btrfs (different fsids) among the devices of one installation; using none");
    return {};
  }
  return f.data;
}

// The private top-level (subvolid=5) mount used to list and create subvolumes; unmounted when
// dropped. Held until the subvolumes are mounted, so the filesystem is opened once, not twice.
struct TopMount {
  std::string path;
  TopMount() = default;
  TopMount(const TopMount&) = delete;
  TopMount& operator=(const TopMount&) = delete;
  ~TopMount() {
    if (path.empty()) return;
    try {
      io::unmount(path, false);
    } catch (const Error&) {
      try { io::unmount(path, true); } catch (const Error&) {}
    }
    ::rmdir(path.c_str());
  }
};

std::unique_ptr<TopMount> create_missing_subvolumes(const std::string& dev, const Config& cfg, const RunOptions& opts,
                                                    const std::string& degraded, Reporter& rep) {
  const Context ctx = engine_context(opts);
  const std::string top = ctx.run_dir + "/mosdata-top";
  auto r = engine::mount({dev, top, "btrfs", join_options("nosuid,nodev,noexec,subvolid=5", degraded)}, ctx);
  auto guard = std::make_unique<TopMount>();  // built in place: a moved-from copy would unmount too
  if (!r.already_mounted) guard->path = top;
  std::set<std::string> have;
  for (const auto& s : btrfs::list_subvolumes(top, ctx).subvolumes)
    if (s.parent_id == 5) have.insert(s.path);
  for (const auto& s : cfg.subvolumes) {
    if (have.count(s.name)) continue;
    btrfs::create_subvolume(s.name, top, ctx);
    rep.done("created subvolume " + s.name + " on MOSDATA");
  }
  return guard;
}

}  // namespace

std::vector<Device> discover_allowed(const Policy& policy) {
  DiscoverOptions sysfs_only;
  sysfs_only.probe_content = false;
  std::vector<Device> all = discover_devices(sysfs_only), allowed;
  for (const auto& d : all)
    if (policy.allowed(d.path)) allowed.push_back(d);
  fill_content(allowed);
  for (auto& d : all)
    for (const auto& a : allowed)
      if (a.path == d.path) d = a;
  return all;
}

Found find_mos_storage(const std::vector<Device>& all, const Policy& policy, const Config& cfg) {
  Found f;
  for (const auto& d : all) {
    bool mos_labelled = (d.label && d.label->starts_with("MOS")) || (d.partlabel && d.partlabel->starts_with("mos"));
    if (std::string refused = policy.first_refused(d.path); !refused.empty()) {
      // Named by the allow list but reaching a device it does not name (another member of its
      // btrfs fsid, a lower device): said, or a node would be refused with no reason given.
      if (mos_labelled && refused != d.path)
        f.ignored.push_back(d.path + " reaches " + refused + " (its stack or another device with its btrfs fsid), which "
                                     "the allowed devices do not name");
      continue;
    }
    if (auto why = may_serve_mos_role(d, cfg)) {
      if (mos_labelled) f.ignored.push_back(d.path + " " + *why);
      continue;
    }
    if (is(d, "vfat", "MOSEFI")) f.efi.push_back(d);
    else if (is(d, "ext4", "MOSBOOT")) f.boot.push_back(d);
    else if (is(d, "swap", "MOSSWAP")) f.swap.push_back(d);
    else if (is(d, "btrfs", "MOSDATA")) f.data.push_back(d);
    else if (d.fstype && *d.fstype == "linux_raid_member" && d.partlabel &&
             (*d.partlabel == "mosefi" || *d.partlabel == "mosboot"))
      f.md_members.push_back(d);
  }
  return f;
}

json found_json(const Found& f) {
  json out = json::array();
  auto add = [&](const std::vector<Device>& v) {
    for (const auto& d : v)
      out.push_back({{"path", d.path}, {"fstype", d.fstype}, {"label", d.label}, {"uuid", d.uuid}, {"partlabel", d.partlabel}});
  };
  add(f.efi), add(f.boot), add(f.swap), add(f.data), add(f.md_members);
  return out;
}

Context engine_context(const RunOptions& opts) {
  Context ctx;
  ctx.policy = md_policy(opts.policy);
  ctx.run_dir = opts.root + "/run/mos_sysvol";
  ctx.mount_prefixes = {ctx.run_dir};
  return ctx;
}

// mos_sysvol mounts only where its configuration says (the daemon's --mount-prefix is not
// its rule): under --root when one is given (a test's tree), else at the configured points.
Context mount_context(const Config& cfg, const RunOptions& opts) {
  Context ctx = engine_context(opts);
  if (!opts.root.empty()) {
    ctx.mount_prefixes = {opts.root};
    return ctx;
  }
  for (const auto& s : cfg.subvolumes) ctx.mount_prefixes.push_back(s.mount_point);
  if (!cfg.boot_mount.empty()) ctx.mount_prefixes.push_back(cfg.boot_mount);
  if (!cfg.efi_mount.empty()) ctx.mount_prefixes.push_back(cfg.efi_mount);
  return ctx;
}

void bring_up(const Found& found, const Config& cfg, const RunOptions& opts, Reporter& rep) {
  const Context ctx = mount_context(cfg, opts);
  Report& report = rep.report();
  // btrfs: register every member, then decide whether the filesystem is complete.
  std::vector<Device> members = found.data.empty() ? std::vector<Device>{} : data_members(found, rep);
  if (found.data.empty()) rep.error("no usable MOSDATA btrfs found among the allowed devices");
  for (const auto& m : members) {
    try {
      io::btrfs_scan_device(m.path);
    } catch (const Error& e) {
      rep.warn(std::string("btrfs scan of ") + m.path + " failed: " + e.what());
    }
  }
  std::string degraded;
  if (!members.empty()) {
    try {
      uint64_t expected = btrfs_expected_members(members.front().path);
      if (members.size() < expected) {
        degraded = "degraded";
        report.degraded = true;
        rep.out_of_service("MOSDATA: " + std::to_string(expected - members.size()) + " of " + std::to_string(expected) +
                           " member devices");
        rep.warn("MOSDATA is DEGRADED: " + std::to_string(members.size()) + " of " + std::to_string(expected) +
                 " member disks present; mounting with 'degraded' - replace the missing disk");
      }
    } catch (const Error& e) {
      rep.warn(std::string("cannot read the MOSDATA superblock of ") + members.front().path + ": " + e.what());
    }
  }
  const std::string data_dev = members.empty() ? std::string() : members.front().path;

  if (opts.dry_run) {
    for (const auto& s : cfg.subvolumes)
      rep.skip("mount subvolume " + s.name + " at " + opts.root + s.mount_point, "dry run");
    for (const auto& s : found.swap) rep.skip("swapon " + s.path, "dry run");
    return;
  }

  bool ok = !data_dev.empty();
  std::unique_ptr<TopMount> top;
  if (!data_dev.empty()) {
    try {
      top = create_missing_subvolumes(data_dev, cfg, opts, degraded, rep);
    } catch (const Error& e) {
      rep.error(std::string("subvolumes on MOSDATA: ") + e.what());
      ok = false;
    }
    crash_point("sysvol:after-subvolumes");  // outside the try: an injected crash ends the run here
    for (const auto& s : cfg.subvolumes) {
      std::string o = join_options(join_options("subvol=" + s.name, s.options.empty() ? cfg.btrfs_options : s.options), degraded);
      ok = mount_one(data_dev, opts.root + s.mount_point, "btrfs", o, ctx, rep) && ok;
    }
    top.reset();
  } else {
    for (const auto& s : cfg.subvolumes) rep.skip("mount subvolume " + s.name + " at " + opts.root + s.mount_point, "no usable MOSDATA");
  }
  if (cfg.boot_mount.empty()) rep.skip("mount MOSBOOT", "off in the configuration");
  else if (found.boot.empty()) rep.error("no MOSBOOT ext4 found; " + cfg.boot_mount + " not mounted"), ok = false;
  else ok = mount_one(found.boot.front().path, opts.root + cfg.boot_mount, "ext4", "nosuid,nodev", ctx, rep) && ok;
  if (cfg.efi_mount.empty()) rep.skip("mount MOSEFI", "off in the configuration");
  else if (found.efi.empty()) rep.error("no MOSEFI FAT32 found; " + cfg.efi_mount + " not mounted"), ok = false;
  else ok = mount_one(found.efi.front().path, opts.root + cfg.efi_mount, "vfat", "nosuid,nodev,noexec", ctx, rep) && ok;
  crash_point("sysvol:after-mounts");

  if (found.swap.empty()) rep.warn("no MOSSWAP found: running without swap");
  for (const auto& s : found.swap) {
    try {
      if (io::swap_on(s.path)) rep.done("swapon " + s.path);
      else rep.done("swap on " + s.path + " already active");
    } catch (const Error& e) {
      rep.warn(std::string("swapon ") + s.path + " failed: " + e.what());
      rep.out_of_service("swap on " + s.path);
    }
  }
  crash_point("sysvol:after-swapon");

  for (const auto& d : cfg.dirs) {
    std::string p = opts.root + d.path;
    if (data_dev.empty()) {  // they live on the subvolumes: never on the directories under them
      rep.skip("directory " + p, "no usable MOSDATA");
      continue;
    }
    std::error_code ec;
    std::filesystem::create_directories(p, ec);
    if (ec || ::chmod(p.c_str(), d.mode) != 0) {
      rep.error("cannot create directory " + p + ": " + (ec ? ec.message() : std::string(strerror(errno))));
      ok = false;
      continue;
    }
    rep.done("directory " + p);
  }
  report.ready = ok && report.errors.empty();
}

}  // namespace mos::engine::sysvol
