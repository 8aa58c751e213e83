// Where storage.mount may mount and storage.unmount may unmount: only at or
// beneath a configured prefix (--mount-prefix), never "/" nor the kernel's pseudo-filesystems,
// each name walked without following symlinks, missing directories created only for allowed
// targets.
#pragma once
#include <string>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::engine {

struct MountTarget {
  io::Fd dir;        // O_PATH of the directory itself, reached without following a link
  std::string path;  // its absolute path: the walked names, so also the real path
};

// Absolute, no "." or ".." components; returns it with duplicate slashes removed.
std::string checked_target(const std::string& target);

// Opens `target` for mounting on. Refused (validation, naming the rule) when it is "/", lies in
// /proc, /sys or /dev or on a pseudo-filesystem, or is neither one of `prefixes` nor beneath one;
// a symlink anywhere on the path is refused. Missing directories of an allowed target are
// created when `create`; nothing is created for a refused one.
MountTarget open_mount_target(const std::string& target, const std::vector<std::string>& prefixes, bool create);

}  // namespace mos::engine
