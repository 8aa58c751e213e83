#include "engine/mount.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "engine/fstypes.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/mount_options.hpp"
#include "engine/mount_target.hpp"
#include "base/error.hpp"
#include "ioctl/block_open.hpp"
#include "ioctl/mount.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {
namespace {

std::optional<std::string> real_path(const std::string& p) {
  char buf[PATH_MAX];
  if (!::realpath(p.c_str(), buf)) return std::nullopt;
  return std::string(buf);
}

const io::MountEntry* topmost_mount_at(const std::vector<io::MountEntry>& mounts, const std::string& target) {
  const io::MountEntry* found = nullptr;
  for (const auto& m : mounts)
    if (m.mount_point == target) found = &m;  // later lines are mounted on top of earlier ones
  return found;
}

MountInfo mount_info_at(const std::string& target, const std::string& device) {
  Device d = find_device(device);
  MountInfo found;
  for (auto& m : list_mounts({d}))
    if (m.target == target) found = m;
  if (found.target.empty()) throw Error(ErrorCode::storage_failed, "mount at " + target + " vanished", target);
  return found;
}

// A multi-device filesystem (btrfs) mounts only when the kernel knows all its members, which it
// forgets at reboot or `device scan --forget`: register every allowed device carrying the same UUID.
// A member whose primary superblock is damaged (known only from a copy) is left out: the kernel
// reads only the primary and refuses it, which would fail the mount of the healthy members too.
void register_members(const FilesystemType& type, const std::string& source, const Context& ctx) {
  Device d = find_device(source);
  if (d.fstype != type.name || !d.uuid) return;  // let the kernel's own error speak
  // Mounted already (another subvolume): the kernel holds every member it needs.
  if (io::sysfs_exists("/sys/fs/" + type.kernel_filesystem + "/" + *d.uuid)) return;
  DiscoverOptions only_allowed{true, [&](const Device& dev) { return ctx.policy.allowed(dev.path); }};
  for (const auto& member : discover_devices(only_allowed))
    if (member.fstype == type.name && member.uuid == d.uuid && !member.damaged && ctx.policy.allowed(member.path))
      type.register_member(member.path);
}

// The judged source is looked at through the one block-device open (ioctl/block_open: O_PATH,
// fstat): a FIFO, character device or regular file is never a mount source.
void require_block_device(const std::string& device, const std::string& requested) {
  const int fd = io::open_block_fd(device, O_PATH);
  if (fd >= 0) {
    ::close(fd);
    return;
  }
  if (errno == ENOTBLK) throw_validation("mount source " + requested + " is not a block device", requested);
  throw_sys("open", device, errno);
}

}  // namespace

void to_json(json& j, const MountResult& r) {
  j = json(r.mount);
  j["already_mounted"] = r.already_mounted;
}

void to_json(json& j, const UnmountResult& r) {
  j = json{{"target", r.target}, {"source", r.source}, {"lazy", r.lazy}};
}

void to_json(json& j, const Usage& u) {
  j = json{{"target", u.target},
           {"source", u.source},
           {"device", u.device},
           {"fstype", u.fstype},
           {"size_bytes", u.size_bytes},
           {"used_bytes", u.used_bytes},
           {"available_bytes", u.available_bytes},
           {"use_percent", u.use_percent}};
}

MountResult mount(const MountRequest& req, const Context& ctx) {
  if (req.source.empty()) throw_validation("mount source is empty");
  if (req.fstype.empty()) throw_validation("mount fstype is empty");
  // First: a type off the list never reaches fsopen (tmpfs ignores its source; an unknown name
  // makes the kernel load a module).
  require_mountable_fstype(req.fstype, ctx.extra_mount_fstypes);
  if (!real_path(canonical_device(req.source)))
    throw Error(ErrorCode::not_found, "mount source " + req.source + " does not exist", req.source);
  const std::optional<std::string> source = ctx.policy.judge(req.source, Access::mount);
  require_block_device(*source, req.source);
  checked_target(req.target);
  io::SplitOptions options = checked_mount_options(req.fstype, req.options, req.privileged);  // nothing created yet

  MountTarget target = open_mount_target(req.target, ctx.mount_prefixes, true);
  const std::optional<std::string> real_target = target.path;
  auto mounts = io::read_mountinfo();
  if (const io::MountEntry* m = topmost_mount_at(mounts, *real_target)) {
    auto mounted_dev = real_path(m->source);
    if (mounted_dev && *mounted_dev == *source) return MountResult{mount_info_at(*real_target, *source), true};
    throw Error(ErrorCode::validation,
                *real_target + " is already a mount point of " + m->source + " (" + m->fstype + "); unmount it first",
                *real_target);
  }
  const FilesystemType* type = find_filesystem_type(req.fstype);
  if (type && type->multi_device()) register_members(*type, *source, ctx);
  io::mount_filesystem_at(*source, target.dir, req.fstype, options);
  return MountResult{mount_info_at(*real_target, *source), false};
}

UnmountResult unmount(const std::string& path, bool lazy, const Context& ctx) {
  // Walked like a mount target (never relative to the daemon's working directory, no symlink
  // followed), nothing created; the fd is closed before umount2, which it would keep busy.
  const std::optional<std::string> real = open_mount_target(path, ctx.mount_prefixes, false).path;
  auto mounts = io::read_mountinfo();
  const io::MountEntry* m = topmost_mount_at(mounts, *real);
  if (!m) throw Error(ErrorCode::not_found, *real + " is not a mount point", path);
  std::string source = m->source;
  // Only what mount() would have mounted there: a listed type from a block device the policy
  // lets us mount (not /run/user/N's tmpfs, not the root disk's /boot/efi).
  try {
    require_mountable_fstype(m->fstype, ctx.extra_mount_fstypes);
    require_block_device(ctx.policy.judge(real_path(source).value_or(source), Access::mount), source);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::validation) throw;
    throw Error(ErrorCode::validation,
                "refusing to unmount " + *real + " (" + m->fstype + " from " + source +
                    "): storage.unmount only unmounts what storage.mount would mount: " + e.what(),
                path);
  }
  io::unmount(*real, lazy);
  return UnmountResult{*real, source, lazy};
}

std::vector<Usage> usage() {
  std::vector<Usage> out;
  for (const auto& m : list_mounts(discover_devices(DiscoverOptions{false}))) {
    struct statvfs sv {};
    if (::statvfs(m.target.c_str(), &sv) != 0) continue;  // vanished between mountinfo and statvfs
    Usage u;
    u.target = m.target;
    u.source = m.source;
    u.fstype = m.fstype;
    u.device = m.device;
    u.size_bytes = uint64_t{sv.f_blocks} * sv.f_frsize;
    u.used_bytes = uint64_t{sv.f_blocks - sv.f_bfree} * sv.f_frsize;
    u.available_bytes = uint64_t{sv.f_bavail} * sv.f_frsize;
    uint64_t denominator = u.used_bytes + u.available_bytes;
    u.use_percent = denominator == 0 ? 0 : static_cast<uint32_t>((u.used_bytes * 100 + denominator - 1) / denominator);
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace mos::engine
