// /dev/btrfs-control: tell the kernel which block devices belong to a btrfs (needed before
// mounting a multi-device filesystem) and make it forget unmounted ones.
#pragma once
#include <string>

namespace mos::io {

inline constexpr const char* kBtrfsControl = "/dev/btrfs-control";

// BTRFS_IOC_SCAN_DEV: registers `device` (a block device path) with the btrfs module.
void btrfs_scan_device(const std::string& device);

// BTRFS_IOC_FORGET_DEV: drops the registration of an unmounted `device`; an empty path drops
// every unmounted device the kernel remembers. ENOENT (not registered) is not an error.
void btrfs_forget_device(const std::string& device);

}  // namespace mos::io
