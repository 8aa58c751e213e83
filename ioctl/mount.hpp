// The kernel's new mount API (fsopen/fsconfig/fsmount/move_mount) and umount2. The fs context
// fd carries the kernel's own error text ("btrfs: unknown option foo"), which we hand on.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::io {

// A mount options string ("noatime,compress=zstd,ro") split the way the kernel wants it.
struct SplitOptions {
  uint64_t mount_attrs = 0;  // MOUNT_ATTR_* for fsmount (per-mount flags)
  // Superblock flags the VFS parses itself through fsconfig(FSCONFIG_SET_FLAG): ro, rw, sync,
  // async, dirsync, lazytime, nolazytime.
  std::vector<std::string> sb_flags;
  // Filesystem options in order: key with value (FSCONFIG_SET_STRING) or bare (FSCONFIG_SET_FLAG).
  std::vector<std::pair<std::string, std::optional<std::string>>> data;
};

// Splits on commas; throws validation for empty items or control characters. "defaults" is
// accepted and means nothing. Later atime options override earlier ones, as mount(8) does.
SplitOptions split_mount_options(const std::string& options);

// Mounts source (a block device) of fstype at the existing directory target. Failures throw
// mos::Error carrying the kernel's messages: validation (-32001) for rejected options or an
// unknown filesystem type, storage_failed (-32000) otherwise.
void mount_filesystem(const std::string& source, const std::string& target, const std::string& fstype,
                      const SplitOptions& options);

// The same onto the directory an O_PATH fd holds (move_mount with MOVE_MOUNT_T_EMPTY_PATH): no
// name is looked up again between checking the target and mounting on it.
void mount_filesystem_at(const std::string& source, const Fd& target_dir, const std::string& fstype,
                         const SplitOptions& options);

// Makes the mount at target private (no propagation to or from shared peers); throws naming it.
void make_private(const std::string& target);

// umount2(target, (lazy ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW); throws naming the target.
void unmount(const std::string& target, bool lazy);

}  // namespace mos::io
