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

}  // namespace mos::engine
