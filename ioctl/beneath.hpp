// Walking an absolute directory path without following any symlink (openat2(2) with
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, one component at a time from "/"): what comes
// back is the directory the names lead to, never where a link someone planted points, so the
// walked path is also the real path.
#pragma once
#include <string>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::io {

// Opens `components` (names under "/", none empty, "." or "..") as an O_PATH directory fd.
// A missing component is created 0755 (mkdirat on the parent's fd) only when its index is
// >= create_from; otherwise not_found. Throws validation naming the component when it is a
// symlink or not a directory.
Fd open_dir_no_symlinks(const std::vector<std::string>& components, size_t create_from);

// True when the directory behind fd lies on a kernel pseudo-filesystem (proc, sysfs, devtmpfs,
// devpts, cgroup, debugfs, tracefs, securityfs, bpf, efivarfs, configfs, pstore, ...). devtmpfs
// reports tmpfs's magic: /dev is refused by name.
bool on_pseudo_filesystem(const Fd& dir);

}  // namespace mos::io
