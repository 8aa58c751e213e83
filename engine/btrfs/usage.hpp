// Space figures of a mounted btrfs, computed the way `btrfs filesystem df -b` and
// `btrfs filesystem usage -b` compute them (SPACE_INFO + FS_INFO/DEV_INFO + chunk tree), so the
// numbers users compare are the same; and per-device error counters (GET_DEV_STATS).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine::btrfs {

// One SPACE_INFO entry: "Data", "Metadata", "System", "Data+Metadata", "GlobalReserve".
struct SpaceGroup {
  std::string type;
  std::string profile;  // "single", "DUP", "RAID1", ... as btrfs-progs prints them
  uint64_t flags = 0;
  uint64_t total_bytes = 0;
  uint64_t used_bytes = 0;
};

struct FsDf {
  std::string fsid;
  std::string mount_point;
  std::vector<SpaceGroup> groups;  // GlobalReserve included, as in `btrfs filesystem df`
};

struct DeviceBytes {
  uint64_t devid = 0;
  std::string path;
  uint64_t bytes = 0;
};

struct UsageGroup {
  std::string type;
  std::string profile;
  uint64_t size_bytes = 0;
  uint64_t used_bytes = 0;
  std::vector<DeviceBytes> devices;  // raw bytes allocated on each device
};

struct FsUsage {
  std::string fsid;
  std::string mount_point;
  uint64_t device_size = 0;
  uint64_t device_allocated = 0;
  int64_t device_unallocated = 0;  // may be negative while a device shrinks
  uint64_t device_missing = 0;
  uint64_t device_slack = 0;
  uint64_t used = 0;
  uint64_t free_estimated = 0;
  uint64_t free_estimated_min = 0;
  uint64_t free_statfs = 0;
  double data_ratio = 0;
  double metadata_ratio = 0;
  uint64_t global_reserve = 0;
  uint64_t global_reserve_used = 0;
  bool multiple_profiles = false;
  std::vector<UsageGroup> groups;       // GlobalReserve excluded, as in `usage`
  std::vector<DeviceBytes> unallocated;  // per device
};

struct DeviceStats {
  uint64_t devid = 0;
  std::string path;
  uint64_t write_io_errs = 0;
  uint64_t read_io_errs = 0;
  uint64_t flush_io_errs = 0;
  uint64_t corruption_errs = 0;
  uint64_t generation_errs = 0;
};

// Read-only queries of a mounted btrfs named by a path on it: opened once by open_judged_btrfs
// (every member judged on that fd) and read through the same fd; never mounts.
FsDf fs_df(const std::string& path, const Context& ctx);
FsUsage fs_usage(const std::string& path, const Context& ctx);
std::vector<DeviceStats> device_stats(const std::string& path, const Context& ctx);
// The same read through a handle open_judged_btrfs returned (the seam a symlink-swap test uses:
// whatever the path names after the judge, these read the judged filesystem).
FsDf fs_df(const io::Fd& judged);
FsUsage fs_usage(const io::Fd& judged);
std::vector<DeviceStats> device_stats(const io::Fd& judged);

std::string group_type_name(uint64_t flags);
std::string group_profile_name(uint64_t flags);
// Inverse of group_profile_name for balance convert targets (case-insensitive); 0 = unknown.
std::optional<uint64_t> profile_flag(const std::string& name);

// Copies of each block a profile keeps (RAID1 2, DUP 2, RAID1C3 3, ...; striped profiles 1).
int profile_copies(uint64_t flags);
// Raw bytes used on the devices (every copy counted): what a full scrub reads.
uint64_t raw_used_bytes(const std::vector<SpaceGroup>& groups);

// Profiles ("single", "dup", "raid1", ...) of the chunks in the chunk tree, per block-group type
// ("data", "metadata", "system"; a mixed group counts for data and metadata).
std::map<std::string, std::set<std::string>> chunk_profiles(const io::Fd& judged);

// SPACE_INFO entries in kernel order.
std::vector<SpaceGroup> space_info(const io::Fd& fs);

}  // namespace mos::engine::btrfs
