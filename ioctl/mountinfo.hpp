// /proc/self/mountinfo parser (proc(5) format, octal escapes decoded).
#pragma once
#include <string>
#include <vector>

namespace mos::io {

struct MountEntry {
  int mount_id = 0;
  int parent_id = 0;
  unsigned major = 0, minor = 0;  // st_dev of the filesystem (btrfs reports an anonymous dev)
  std::string root;               // path within the filesystem that forms the mount root
  std::string mount_point;
  std::string mount_options;      // per-mount options (rw,noatime,...)
  std::string fstype;
  std::string source;             // e.g. /dev/loop0
  std::string super_options;      // per-superblock options (subvol=...,compress=...)
};

std::vector<MountEntry> parse_mountinfo(const std::string& text);
std::vector<MountEntry> read_mountinfo(const std::string& path = "/proc/self/mountinfo");

}  // namespace mos::io
