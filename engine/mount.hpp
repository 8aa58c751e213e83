// Mounting, unmounting and usage of block-device filesystems (storage.mount/unmount/usage).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/inventory.hpp"
#include "engine/json.hpp"

namespace mos::engine {

struct MountRequest {
  std::string source;   // block device
  std::string target;   // absolute directory under ctx.mount_prefixes, created when missing
  std::string fstype;   // ext4, vfat, btrfs, ...
  std::string options;  // "noatime,compress=zstd"; checked by mount_options.hpp
  // suid/dev allowed at all (else refused; mounts default to nosuid,nodev). Only the flag is
  // judged here; the daemon lets only uid 0 set it (rpc/methods_fs.cpp), never an admin.
  bool privileged = false;
};

struct MountResult {
  MountInfo mount;               // as /proc/self/mountinfo shows it afterwards
  bool already_mounted = false;  // the same device was already mounted there (nothing done)
};
void to_json(json& j, const MountResult& r);

// fstype must be on the mountable list (require_mountable_fstype), checked before anything else;
// policy check on source; source must exist (-32002) and be a block device; target must be an
// absolute path without '..' components at or beneath one of ctx.mount_prefixes, walked without
// following symlinks (engine/mount_target.hpp); a target that already holds another mount is
// refused.
MountResult mount(const MountRequest& req, const Context& ctx);

struct UnmountResult {
  std::string target;
  std::string source;
  bool lazy = false;
};
void to_json(json& j, const UnmountResult& r);

// path must be a mount point (-32002 otherwise) at or beneath ctx.mount_prefixes, walked like a
// mount target, of a filesystem mount() would have mounted (a listed fstype from a block device
// the policy allows to mount; -32001 otherwise); lazy detaches a busy mount.
UnmountResult unmount(const std::string& path, bool lazy, const Context& ctx);

// statvfs of one mounted filesystem, in df's terms.
struct Usage {
  std::string target, source, fstype;
  std::optional<std::string> device;  // resolved /dev/NAME
  uint64_t size_bytes = 0;       // f_blocks * f_frsize
  uint64_t used_bytes = 0;       // (f_blocks - f_bfree) * f_frsize
  uint64_t available_bytes = 0;  // f_bavail * f_frsize (what unprivileged users may still write)
  uint32_t use_percent = 0;      // used / (used + available), rounded up as df does
};
void to_json(json& j, const Usage& u);

// One entry per mounted block-device filesystem, in mountinfo order.
std::vector<Usage> usage();

}  // namespace mos::engine
