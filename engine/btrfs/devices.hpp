// Whole-filesystem maintenance of a mounted btrfs: recursive defragmentation
// (BTRFS_IOC_DEFRAG_RANGE per regular file), growing every device to its size
// (BTRFS_IOC_RESIZE "devid:max"), adding (BTRFS_IOC_ADD_DEV) and removing (RM_DEV_V2) devices.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct DefragResult {
  std::string path;
  uint64_t files_defragmented = 0;
  uint64_t bytes = 0;  // size of the files defragmented
  uint64_t files_failed = 0;
  std::vector<std::string> failures;  // first few "path: reason"
};

struct ResizedDevice {
  uint64_t devid = 0;
  std::string path;
  uint64_t old_size_bytes = 0;
  uint64_t new_size_bytes = 0;
};

struct DeviceChange {
  std::string mount_point;
  std::string device;
  std::optional<uint64_t> devid;
  uint64_t num_devices = 0;  // after the change
};

// The devid of a member named by its devid in decimal (missing members included) or by a present
// member's path; -32002 when it names none.
uint64_t member_devid(const io::Fd& fs, const std::string& device, const std::string& mount_point);

// Refuses (nothing started) unless ctx.policy allows every member of the btrfs holding `path`.
void defrag_check_can_start(const std::string& path, const Context& ctx);
// Defragments `path` (a file, or a directory walked recursively without leaving its
// filesystem or entering other subvolumes); progress counts files. Judged on the directory it
// opens, before the walk.
DefragResult defrag(const std::string& path, const Context& ctx, const ProgressFn& progress = {},
                    CancelFlag cancel = nullptr);

// Every function below judges the filesystem first: ctx.policy must allow every member.
std::vector<ResizedDevice> resize_max(const std::string& mount_point, const Context& ctx);
// The new device must be allowed, not in use and carry no signature unless force (safety.hpp).
DeviceChange add_device(const std::string& mount_point, const std::string& device, bool force, const Context& ctx);
// device: a member's path or its devid in decimal.
DeviceChange remove_device(const std::string& mount_point, const std::string& device, const Context& ctx);

}  // namespace mos::engine::btrfs
