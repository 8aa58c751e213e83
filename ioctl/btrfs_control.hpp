// /dev/btrfs-control: tell the kernel which block devices belong to a btrfs (needed before
// mounting a multi-device filesystem).
#pragma once
#include <string>

namespace mos::io {

inline constexpr const char* kBtrfsControl = "/dev/btrfs-control";

// BTRFS_IOC_SCAN_DEV: registers `device` (a block device path) with the btrfs module.
void btrfs_scan_device(const std::string& device);

}  // namespace mos::io
