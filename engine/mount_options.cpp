#include "engine/mount_options.hpp"

#include <sys/mount.h>

#include <map>
#include <set>
#include <vector>

#include "base/error.hpp"

namespace mos::engine {
namespace {

// Mount attributes and superblock flags every filesystem accepts (suid and dev: privileged).
const std::set<std::string> kGeneric = {"defaults", "ro",       "rw",       "noatime", "relatime", "strictatime",
                                        "atime",    "nodiratime", "diratime", "nosuid",  "nodev",    "noexec",
                                        "exec",     "sync",     "async",    "dirsync", "lazytime", "nolazytime"};

// Filesystem options by key; a non-empty value set restricts the value.
using Keys = std::map<std::string, std::set<std::string>>;
const std::map<std::string, Keys>& per_filesystem() {
  static const std::map<std::string, Keys> m = {
      {"ext4",
       {{"errors", {"remount-ro", "continue"}}, {"discard", {}}, {"nodiscard", {}}, {"barrier", {}}, {"nobarrier", {}},
        {"commit", {}}, {"data", {"ordered", "writeback", "journal"}}, {"user_xattr", {}}, {"acl", {}}, {"noacl", {}},
        {"auto_da_alloc", {}}, {"noauto_da_alloc", {}}, {"delalloc", {}}, {"nodelalloc", {}}, {"stripe", {}},
        {"inode_readahead_blks", {}}, {"init_itable", {}}, {"noinit_itable", {}}, {"journal_checksum", {}}}},
      {"vfat",
       {{"uid", {}}, {"gid", {}}, {"umask", {}}, {"dmask", {}}, {"fmask", {}}, {"allow_utime", {}}, {"codepage", {}},
        {"iocharset", {}}, {"shortname", {"lower", "win95", "winnt", "mixed"}}, {"utf8", {}}, {"flush", {}},
        {"errors", {"remount-ro", "continue"}}, {"quiet", {}}, {"showexec", {}}, {"tz", {"UTC"}}, {"time_offset", {}},
        {"discard", {}}}},
      {"btrfs",
       {{"subvol", {}}, {"subvolid", {}}, {"compress", {}}, {"compress-force", {}}, {"space_cache", {"v1", "v2"}},
        {"nospace_cache", {}}, {"clear_cache", {}}, {"ssd", {}}, {"nossd", {}}, {"ssd_spread", {}}, {"discard", {"sync", "async"}},
        {"nodiscard", {}}, {"autodefrag", {}}, {"noautodefrag", {}}, {"commit", {}}, {"degraded", {}}, {"skip_balance", {}},
        {"acl", {}}, {"noacl", {}}, {"barrier", {}}, {"nobarrier", {}}, {"datacow", {}}, {"nodatacow", {}}, {"datasum", {}},
        {"nodatasum", {}}, {"flushoncommit", {}}, {"noflushoncommit", {}}, {"max_inline", {}}, {"thread_pool", {}},
        {"user_subvol_rm_allowed", {}}}},
  };
  return m;
}

}  // namespace

io::SplitOptions checked_mount_options(const std::string& fstype, const std::string& options, bool privileged) {
  bool want_suid = false, want_dev = false;
  auto fs = per_filesystem().find(fstype);
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
    if (fs == per_filesystem().end() || !fs->second.count(key)) {
      std::string why = key == "device" ? " (it would pull in devices the policy never judged)" : "";
      throw_validation("mount option '" + item + "' is not allowed for " + fstype + why);
    }
    const auto& values = fs->second.at(key);
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
