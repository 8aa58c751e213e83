#include "engine/mount_options.hpp"

#include <sys/mount.h>

#include <set>

#include "base/error.hpp"
#include "engine/fstypes.hpp"

namespace mos::engine {
namespace {

// Mount attributes and superblock flags every filesystem accepts (suid and dev: privileged).
const std::set<std::string> kGeneric = {"defaults", "ro",       "rw",       "noatime", "relatime", "strictatime",
                                        "atime",    "nodiratime", "diratime", "nosuid",  "nodev",    "noexec",
                                        "exec",     "sync",     "async",    "dirsync", "lazytime", "nolazytime"};

}  // namespace

io::SplitOptions checked_mount_options(const std::string& fstype, const std::string& options, bool privileged) {
  bool want_suid = false, want_dev = false;
  const FilesystemType* type = find_filesystem_type(fstype);  // unknown: the generic options only
  size_t start = 0;
  while (start <= options.size() && !options.empty()) {
    size_t comma = options.find(',', start);
    std::string item = options.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? options.size() + 1 : comma + 1;
    if (item.empty()) continue;  // split_mount_options names empty items
    if (item == "suid" || item == "dev") {
      if (!privileged)
        throw_validation("mount option '" + item + "' needs privileged: mounts are nosuid,nodev unless a privileged caller asks");
      (item == "suid" ? want_suid : want_dev) = true;
      continue;
    }
    if (kGeneric.count(item)) continue;
    auto eq = item.find('=');
    std::string key = item.substr(0, eq);
    if (!type || !type->mount_options.count(key)) {
      std::string why = key == "device" ? " (it would pull in devices the policy never judged)" : "";
      throw_validation("mount option '" + item + "' is not allowed for " + fstype + why);
    }
    const auto& values = type->mount_options.at(key);
    if (!values.empty() && (eq == std::string::npos || !values.count(item.substr(eq + 1))))
      throw_validation("mount option '" + item + "' is not allowed for " + fstype + " (allowed values of " + key + ": " +
                       [&] {
                         std::string v;
                         for (const auto& s : values) v += (v.empty() ? "" : ", ") + s;
                         return v;
                       }() + ")");
  }
  io::SplitOptions split = io::split_mount_options(options);
  if (!want_suid) split.mount_attrs |= MOUNT_ATTR_NOSUID;
  if (!want_dev) split.mount_attrs |= MOUNT_ATTR_NODEV;
  return split;
}

}  // namespace mos::engine
