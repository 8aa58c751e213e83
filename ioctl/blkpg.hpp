// Telling the kernel about partition changes: BLKPG add/delete/resize one partition (works
// while other partitions of the disk are busy), and BLKRRPART (re-read all; needs an idle disk).
#pragma once
#include <cstdint>

#include "ioctl/fd.hpp"

namespace mos::io {

// `disk` is the whole-disk node; numbers are 1-based; offsets and lengths in bytes.
void blkpg_add_partition(const Fd& disk, int number, uint64_t start_bytes, uint64_t length_bytes);
void blkpg_delete_partition(const Fd& disk, int number);
void blkpg_resize_partition(const Fd& disk, int number, uint64_t start_bytes, uint64_t length_bytes);
void blk_reread_partitions(const Fd& disk);  // BLKRRPART

}  // namespace mos::io
