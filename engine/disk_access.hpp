// Whole-disk access for partitioning: open a disk node (refusing partitions), the kernel's
// current partitions of it (sysfs), and why a block device is busy (mounted, held, swap, claimed).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {

struct Disk {
  std::string path;  // as given, e.g. /dev/loop3
  std::string name;  // kernel name, e.g. loop3
  io::Fd fd;
  io::BlockFacts facts;
};

// Opens any block device (disk or partition); `is_partition` tells which.
Disk open_block_device(const std::string& path, bool write, bool* is_partition = nullptr);
// Opens a whole-disk block device (O_RDWR when `write`); validation error for partitions,
// non-block files and read-only devices opened for writing.
Disk open_disk(const std::string& path, bool write);

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

// Why a block device (by kernel name) must not be touched: "mounted at /mnt", "held by md0",
// "in use as swap", "opened exclusively by another program"; nullopt when idle.
std::optional<std::string> busy_reason(const std::string& block_name);

// Where data we may not be able to name sits: the offset of the first of the two edge windows
// (the first and the last MiB, where formats keep their superblocks and tables) holding a
// non-zero byte; nullopt when both are all zeroes.
std::optional<uint64_t> nonzero_edge(const io::Fd& fd, uint64_t size_bytes);

// The first busy reason among the disk itself and all its kernel partitions.
std::optional<std::string> disk_busy_reason(const std::string& disk_name);

}  // namespace mos::engine
