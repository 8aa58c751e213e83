// storage.create_filesystem: checks (policy, in use, signatures, label/uuid), then the native
// writer's plan preceded by a wipe of old signatures, applied under an exclusive open.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/json.hpp"
#include "engine/plan_summary.hpp"
#include "base/write_plan.hpp"

namespace mos::engine {

struct FormatRequest {
  std::string device;
  std::string fstype;  // a name of engine/fstypes.hpp's table
  std::string label;
  std::optional<std::string> uuid;  // of the type's IdKind: a XXXX-XXXX volume id or a 36-char UUID
  // Writer options, for the types that list them (ext4).
  std::optional<bool> full_init;
  std::optional<uint32_t> block_size;
  // Multi-device types (btrfs): further member devices besides `device` (which is member 0), and profiles.
  // `profile` sets data and metadata; data_profile/metadata_profile override one of them.
  std::vector<std::string> devices;
  std::optional<std::string> profile, data_profile, metadata_profile;
  bool force = false;
  bool dry_run = false;
};

struct FormatMember {
  Device device;
  PlanSummary plan;
};
void to_json(json& j, const FormatMember& m);

struct FormatResult {
  Device device;  // after formatting (before, for a dry run)
  std::string fstype;
  std::string label;
  std::optional<std::string> uuid;  // as blkid prints it
  bool dry_run = false;
  PlanSummary plan;                  // of `device`
  std::vector<FormatMember> members;  // every device written, `device` first
};
void to_json(json& j, const FormatResult& r);

// Every member is checked (policy, in use, signatures) before the first byte is written to any.
// A btrfs is registered with the kernel (BTRFS_IOC_SCAN_DEV) on every member afterwards.
FormatResult create_filesystem(const FormatRequest& req, const Context& ctx);

// A `change` uevent on /sys/class/block/NAME so udev re-probes and refreshes /dev/disk/by-*;
// best effort (no sysfs in a chroot), the data is already on disk.
void announce_content_change(const std::string& block_name);

// The wipe every format starts with: the first and last MiB, where old partition tables, GPT
// backups, md superblocks and filesystem magics live that the new filesystem may not overwrite,
// plus the btrfs superblock mirrors (64 MiB, 256 GiB). Builds with the native prober also erase
// every other signature it finds.
mos::PlanStep old_signature_wipe(uint64_t device_size_bytes);

}  // namespace mos::engine
