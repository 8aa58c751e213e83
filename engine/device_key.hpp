// The exclusive key of a mutating job on a block device: the whole disk's device number, so two
// names of one device (/dev/loop3, a symlink to it, /dev/block/7:3) or two partitions of one disk
// never run mutating jobs at once. Anything else (a mount point, a file) keys by its canonical path.
#pragma once
#include <string>

namespace mos::engine {

// "block:MAJ:MIN" of the whole disk holding path (itself when it is a whole disk), from the
// kernel's device model (find_device); the canonical path when path is no block device known
// under /dev (callers pass Policy::judge's canonical /dev path); path as given when it cannot be
// resolved.
std::string device_job_key(const std::string& path);

// The exclusive key of a mutating job on a mounted btrfs (scrub, balance, defrag):
// "btrfs:<fsid>", the same through every mount point, bind mount, subvolume or file of one
// filesystem, so one filesystem (and with it each of its member devices, which nothing else may
// write while it is mounted) runs one such job at a time; the canonical path when path is on
// no btrfs (the caller has refused that already) or cannot be opened.
std::string btrfs_job_key(const std::string& path);

}  // namespace mos::engine
