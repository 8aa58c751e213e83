// An erased partition table is not a blank disk: `sgdisk --zap-all` or `wipefs -a` on a disk
// zero its first and last MiB (the tables) and leave every partition's filesystem where it was.
// This scan looks for superblocks where partitions start: at every MiB boundary of the first
// kErasedTableScanBytes and at the starts our own MOS layout uses, with batched small reads.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "ioctl/fd.hpp"

namespace mos::engine {

// The bound: MiB boundaries up to here (2048 places) are read, 8 KiB at each and 4 KiB at
// +64 KiB (every superblock a partition start carries: ext2/3/4, vfat, swap, xfs, btrfs, md 1.x,
// LUKS, LVM, ...). Measured on a loop device: see README "Damaged is not blank".
inline constexpr uint64_t kErasedTableScanBytes = 2ull << 30;
// At most this many non-zero places are probed for a name (a disk full of old data is refused
// after that many, naming the first).
inline constexpr unsigned kErasedTableMaxProbes = 64;

struct ErasedTableFinding {
  uint64_t start = 0;  // where the partition would have started
  std::string what;    // "an ext4 filesystem (LABEL=MOSBOOT)", or "" when nothing is named
  uint64_t at = 0;     // its superblock magic (or the first non-zero byte)
  // "holds an ext4 filesystem (LABEL=MOSBOOT) at 1048576 (superblock magic at 1049656): a
  // partition table erased in front of intact partitions?"
  std::string message() const;
};

// Scans a whole device of size_bytes whose first and last MiB are zero (the caller checked).
// extra_starts: further partition starts to look at (our layout's, beyond the bound too).
std::optional<ErasedTableFinding> find_erased_partitions(const io::Fd& fd, uint64_t size_bytes, uint32_t sector_size,
                                                         std::span<const uint64_t> extra_starts);

// The same with the starts our MOS layout would use on this disk (default configuration).
std::optional<ErasedTableFinding> find_erased_partitions(const io::Fd& fd, uint64_t size_bytes, uint32_t sector_size);

}  // namespace mos::engine
