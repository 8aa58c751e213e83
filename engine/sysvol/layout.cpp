// The MOS partition layout: mosbios, mosefi, mosboot, mosswap, mosdata.
#include "engine/sysvol/layout.hpp"

#include <algorithm>

#include "base/error.hpp"

namespace mos::engine::sysvol {
namespace {

constexpr uint64_t kBiosBytes = 1 * kMiB;
constexpr uint64_t kBootBytes = 1 * kGiB;
// First partition at 1 MiB; the backup GPT and alignment take at most 1 MiB at the end.
constexpr uint64_t kFirstPartitionBytes = 1 * kMiB;
constexpr uint64_t kGptOverheadBytes = 2 * kMiB;

}  // namespace

uint64_t default_swap_gib(uint64_t disk_bytes) { return std::clamp<uint64_t>(disk_bytes / 8 / kGiB, 1, 4); }

uint64_t esp_size_bytes(uint32_t logical_sector_size) {
  return logical_sector_size >= 4096 ? 260 * kMiB : 100 * kMiB;
}

std::vector<uint64_t> layout_partition_starts(const Layout& l) {
  std::vector<uint64_t> starts;
  uint64_t at = kFirstPartitionBytes;
  for (const auto& p : l.partitions) {
    starts.push_back(at);
    if (!p.size_bytes) break;
    at += *p.size_bytes;
  }
  return starts;
}

Layout plan_layout(const std::string& disk, uint64_t disk_bytes, uint32_t logical_sector_size, const Config& cfg) {
  Layout l;
  l.esp_bytes = esp_size_bytes(logical_sector_size);
  l.swap_bytes = (cfg.swap_size_gib ? *cfg.swap_size_gib : default_swap_gib(disk_bytes)) * kGiB;
  if (cfg.data_size_gib) l.data_bytes = *cfg.data_size_gib * kGiB;
  l.required_bytes = kGptOverheadBytes + kBiosBytes + l.esp_bytes + kBootBytes + l.swap_bytes +
                     (l.data_bytes ? *l.data_bytes : kMinDataBytes);
  l.required_bytes = std::max(l.required_bytes, kMinDiskBytes);
  if (disk_bytes < l.required_bytes)
    throw_validation(disk + " is too small for the MOS layout: " + std::to_string(disk_bytes / kMiB) + " MiB, needs " +
                         std::to_string(l.required_bytes / kMiB) + " MiB (lower mossize/mosswap or use a larger disk)",
                     disk);
  l.partitions = {
      {"mosbios", "bios_boot", "", "", kBiosBytes},
      {"mosefi", "esp", "vfat", "MOSEFI", l.esp_bytes},
      {"mosboot", "linux", "ext4", "MOSBOOT", kBootBytes},
      {"mosswap", "swap", "swap", "MOSSWAP", l.swap_bytes},
      {"mosdata", "linux", "btrfs", "MOSDATA", l.data_bytes},
  };
  return l;
}

}  // namespace mos::engine::sysvol
