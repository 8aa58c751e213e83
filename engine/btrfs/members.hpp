// The members of a btrfs as its superblocks say, mounted or not: what the kernel assembles a
// filesystem from when one member is mounted (every scanned device carrying its fsid). The
// policy judges them all, so allowing one member never lets the kernel pull in another.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mos::engine::btrfs {

struct SuperFacts {
  std::string fsid;
  std::string label;
  uint64_t num_devices = 0;
};

// The primary superblock of a block device; nullopt unless it opens as a block device and the
// magic and (crc32c) checksum are right.
std::optional<SuperFacts> read_super(const std::string& dev);

// Kernel names of every block device whose primary superblock carries `fsid` (a scan of
// /sys/class/block; one 4 KiB read each).
std::vector<std::string> devices_with_fsid(const std::string& fsid);

}  // namespace mos::engine::btrfs
