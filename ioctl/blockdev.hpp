// Block-device facts straight from the kernel (ioctls on the node, queue limits from sysfs).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "ioctl/fd.hpp"

namespace mos::io {

struct BlockFacts {
  uint64_t size_bytes = 0;          // BLKGETSIZE64 rounded down to whole logical sectors
  uint32_t logical_sector_size = 512;   // BLKSSZGET
  uint32_t physical_sector_size = 512;  // BLKPBSZGET
  uint32_t optimal_io_size = 0;     // BLKIOOPT (0 = not reported)
  bool read_only = false;           // BLKROGET
};

BlockFacts block_facts(const Fd& fd);
bool is_block_device(const Fd& fd);
// major:minor of a block device node, e.g. {7, 0} for /dev/loop0.
std::pair<unsigned, unsigned> block_devnum(const Fd& fd);

// Queue limits read from /sys/dev/block/MAJ:MIN/queue (0 where the kernel reports none).
struct QueueLimits {
  uint64_t write_zeroes_max_bytes = 0;
  uint64_t discard_max_bytes = 0;
  bool discard_zeroes_data = false;  // legacy attribute; always 0 on modern kernels
  bool rotational = false;
};
QueueLimits queue_limits(unsigned major, unsigned minor);

// BLKZEROOUT over [offset, offset+len): the kernel writes zeroes, offloaded where it can.
void blk_zeroout(const Fd& fd, uint64_t offset, uint64_t len);
// BLKFLSBUF: drop the page cache of the device (used by benchmarks for cold reads).
void blk_flush_buffers(const Fd& fd);

}  // namespace mos::io
