// Read-only inventory: disks, partitions, filesystems, mounts (storage.list_* methods).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/devices.hpp"
#include "engine/raid.hpp"

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

struct Inventory {
  std::vector<Device> disks, partitions;
  std::vector<Filesystem> filesystems;
  std::vector<MountInfo> mounts;
  std::vector<RaidArray> raids;  // md arrays (engine/raid.hpp)
};
void to_json(json& j, const Inventory& i);

// MOS label -> role ("MOSDATA" -> "data"), nullopt for other labels.
std::optional<std::string> mos_role_of_label(const std::string& label);

std::vector<Device> list_disks(const std::vector<Device>& all);
std::vector<Device> list_partitions(const std::vector<Device>& all);
std::vector<Filesystem> list_filesystems(const std::vector<Device>& all);
std::vector<MountInfo> list_mounts(const std::vector<Device>& all);
Inventory inventory();

}  // namespace mos::engine
