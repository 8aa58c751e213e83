// Whole-disk access for partitioning: open a disk node (refusing partitions), the kernel's
// current partitions of it (sysfs), and why a block device is busy (mounted, held, swap, claimed).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/flock.hpp"

namespace mos::engine {

struct Disk {
  std::string path;  // as given, e.g. /dev/loop3
  std::string name;  // kernel name, e.g. loop3
  io::Fd fd;
  io::BlockFacts facts;
  bool exclusive = false;                 // fd is O_EXCL: nothing can claim the disk or a partition
  std::unique_ptr<io::FlockGuard> lock;   // udev's LOCK_EX while the table changes
  // O_EXCL on the one partition a change removes, through the table write; released just before
  // the BLKPG calls (the kernel refuses to delete a partition anyone has open).
  mutable io::Fd claimed_partition;
};

// Opens any block device (disk or partition); `is_partition` tells which.
Disk open_block_device(const std::string& path, bool write, bool* is_partition = nullptr);
// Opens a whole-disk block device (O_RDWR when `write`); validation error for partitions,
// non-block files and read-only devices opened for writing.
Disk open_disk(const std::string& path, bool write);

// Opens a whole disk for a partition-table change, judged by `policy` first (canonical path).
// The fd is O_EXCL and udev-flocked from here through the last write and BLKPG call, so no
// partition can be mounted, swapped on or assembled meanwhile; a busy disk is refused naming
// why. `siblings_may_be_busy` (adding or growing a partition next to mounted ones): when a
// partition is in use the exclusive open is impossible, so the disk is opened shared and the
// caller claims what it changes (claim_partition).
Disk open_disk_for_change(const std::string& path, const Policy& policy, bool siblings_may_be_busy);
// Holds partition `name` of d O_EXCL (in d.claimed_partition) unless the whole disk is held;
// refuses with the busy reason when something else holds it.
void claim_partition(Disk& d, const std::string& name, const std::string& what);

namespace test_hooks {
// Called inside every partition-table change just before its first write, with the disk held
// (tests pause here to prove that nothing can claim the disk meanwhile). Empty in production.
extern std::function<void(const std::string& disk)> inside_table_lock;
}  // namespace test_hooks

struct KernelPartition {
  uint32_t number = 0;
  std::string name;  // loop3p2
  uint64_t start_bytes = 0;
  uint64_t size_bytes = 0;
};
// Partitions the kernel currently knows for a disk (from /sys/class/block/<disk>/<part>/).
std::vector<KernelPartition> kernel_partitions(const std::string& disk_name);

// Name the kernel gives partition `number` of `disk_name` ("loop3" → "loop3p2", "sda" → "sda2").
std::string partition_name(const std::string& disk_name, uint32_t number);

// The one in-use check (safety gate, partitioning, wipe, mos_sysvol): why a block device (by
// kernel name) must not be touched: "mounted at /mnt", "held by md0", "in use as swap", "a member
// of mounted btrfs F", "opened exclusively by another program"; nullopt when idle.
// `probe_exclusive` false: skip the O_EXCL probe (the caller holds the device exclusively).
std::optional<std::string> busy_reason(const std::string& block_name, bool probe_exclusive = true);

// The first busy reason among the disk itself and all its kernel partitions.
std::optional<std::string> disk_busy_reason(const std::string& disk_name, bool probe_exclusive = true);

}  // namespace mos::engine
