// Read-only inventory: disks, partitions, filesystems, mounts (storage.list_* methods).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/btrfs/subvolumes.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/raid/raid.hpp"

namespace mos::engine {

struct Filesystem {
  Device device;
  bool mos = false;                    // carries one of the MOS labels
  std::optional<std::string> mos_role; // efi | boot | swap | data
};
void to_json(json& j, const Filesystem& f);

struct MountInfo {
  std::string target;
  std::string source;
  std::string fstype;
  std::string options;        // per-mount options
  std::string super_options;  // filesystem options (subvol=..., compress=...)
  std::string root;           // subtree of the filesystem mounted here (btrfs subvolume path)
  std::optional<std::string> device;  // resolved /dev/NAME of the source
  std::optional<std::string> label;
  bool mos = false;
};
void to_json(json& j, const MountInfo& m);

// The subvolumes of one mounted btrfs filesystem (MOSDATA among them when mounted).
struct FilesystemSubvolumes {
  std::string fsid;
  std::optional<std::string> label;
  std::string device;      // source of the mount they were listed through
  std::string mounted_at;  // that mount's target
  bool mos = false;        // label is MOSDATA
  std::vector<btrfs::SubvolumeInfo> subvolumes;  // pre-order from the top level (id 5 excluded)
  std::optional<std::string> error;              // why listing failed (subvolumes then empty)
};
void to_json(json& j, const FilesystemSubvolumes& s);

struct Inventory {
  std::vector<Device> disks, partitions;
  std::vector<Filesystem> filesystems;
  std::vector<MountInfo> mounts;
  std::vector<RaidArray> raids;  // md arrays (engine/raid/raid.hpp)
  std::vector<FilesystemSubvolumes> subvolumes;  // of every mounted btrfs
};
void to_json(json& j, const Inventory& i);

// MOS label -> role ("MOSDATA" -> "data"), nullopt for other labels.
std::optional<std::string> mos_role_of_label(const std::string& label);

std::vector<Device> list_disks(const std::vector<Device>& all);
std::vector<Device> list_partitions(const std::vector<Device>& all);
std::vector<Filesystem> list_filesystems(const std::vector<Device>& all);
std::vector<MountInfo> list_mounts(const std::vector<Device>& all);
// Direct scan (tools, tests, no daemon): every device probed now.
Inventory inventory();
// The inventory of an already discovered device list (the daemon's cache builds it this way).
Inventory inventory_of(const std::vector<Device>& all);

}  // namespace mos::engine
