// The MOS first-boot partition layout as a pure plan: sizes from the disk, its sector size and
// the configuration. Applying it is engine/sysvol_run's job.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/sysvol/config.hpp"

namespace mos::engine::sysvol {

inline constexpr uint64_t kMiB = 1ull << 20;
inline constexpr uint64_t kGiB = 1ull << 30;
// With no config and no cmdline, any disk of at least this size is provisioned.
inline constexpr uint64_t kMinDiskBytes = 8 * kGiB;
// The smallest data partition a layout may leave when data takes "the rest".
inline constexpr uint64_t kMinDataBytes = 1 * kGiB;

struct PlannedPartition {
  std::string name;       // GPT partition name: mosbios, mosefi, mosboot, mosswap, mosdata
  std::string part_type;  // engine type name: bios_boot, esp, linux, swap
  std::string fstype;     // vfat, ext4, swap, btrfs; empty for mosbios (raw)
  std::string label;      // MOSEFI, MOSBOOT, MOSSWAP, MOSDATA; empty for mosbios
  std::optional<uint64_t> size_bytes;  // nullopt: the rest of the disk
};

struct Layout {
  std::vector<PlannedPartition> partitions;  // in disk order, numbers 1..5
  uint64_t esp_bytes = 0;
  uint64_t swap_bytes = 0;
  std::optional<uint64_t> data_bytes;  // nullopt: the rest
  uint64_t required_bytes = 0;         // smallest disk this layout fits on
};

// Compiled swap rule when neither file nor cmdline sets it: disk/8 rounded down to whole GiB,
// at least 1 GiB and at most 4 GiB (8 GiB disk → 1 GiB, 16 GiB → 2 GiB, ≥ 32 GiB → 4 GiB).
uint64_t default_swap_gib(uint64_t disk_bytes);
// 100 MiB; 260 MiB on 4096-byte-sector disks (FAT32 needs ≥ 65525 clusters of 4 KiB).
uint64_t esp_size_bytes(uint32_t logical_sector_size);

// The five partitions for one disk. Throws -32001 naming the disk when it is smaller than
// kMinDiskBytes or than what the configured sizes need.
Layout plan_layout(const std::string& disk, uint64_t disk_bytes, uint32_t logical_sector_size, const Config& cfg);

// Where each partition of l starts on the disk, in order (the first at 1 MiB; sizes are whole
// MiB, so each next one starts where the previous ends). The last, "the rest", included.
std::vector<uint64_t> layout_partition_starts(const Layout& l);

}  // namespace mos::engine::sysvol
