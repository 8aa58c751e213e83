// Native btrfs mkfs: one write plan per device for a fresh filesystem (single device with
// DUP/single metadata, or RAID1 over two or more devices). Format code only: builds bytes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/write_plan.hpp"

namespace mos::fsmake::btrfs {

struct BtrfsOptions {
  std::string label;
  std::optional<std::array<uint8_t, 16>> fsid;
  std::string data_profile = "single";  // single | dup | raid1
  std::string metadata_profile = "";    // "" = dup for 1 device, raid1 for >= 2; single | dup | raid1
  // Tests pin these for reproducible bytes; 0 / nullopt = now / random.
  uint64_t now_seconds = 0;
  std::optional<std::vector<std::array<uint8_t, 16>>> dev_uuids;
};

struct BtrfsDevice {
  uint64_t size_bytes = 0;
  uint32_t logical_sector_size = 512;
};

// Smallest device mkfs.btrfs 6.2 accepts (its "minimum size for each btrfs device").
inline constexpr uint64_t kMinDeviceBytes = 114294784;
inline constexpr size_t kMaxDevices = 64;
inline constexpr size_t kLabelBytes = 255;  // label[256], NUL-terminated  // every device item must fit in one chunk-tree leaf

// Validates everything first (throws mos::Error validation), then returns plan i for device i.
std::vector<mos::WritePlan> plan_mkfs(const BtrfsOptions& options, const std::vector<BtrfsDevice>& devices);

}  // namespace mos::fsmake::btrfs

namespace mos::fsmake {
using btrfs::BtrfsDevice;
using btrfs::BtrfsOptions;
}  // namespace mos::fsmake
