// Subvolumes of a btrfs filesystem through libbtrfsutil: list, create, delete (never the core
// subvolumes), read-only snapshots. Names are single path components below the top level.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct SubvolumeInfo {
  uint64_t id = 0;
  uint64_t parent_id = 0;  // subvolume containing it ("top level" in `btrfs subvolume list`)
  std::string path;        // relative to the top level
  std::string uuid;
  std::optional<std::string> parent_uuid;  // source of a snapshot
  bool read_only = false;
  uint64_t generation = 0;
  int64_t created_unix = 0;
};

struct SubvolumeList {
  std::string fsid;
  std::string top_level_path;  // the mount of the top level; empty when none exists (read through another)
  std::vector<SubvolumeInfo> subvolumes;  // pre-order from the top level
};

// A query: never mounts. An unmounted filesystem answers -32001 "not mounted".
SubvolumeList list_subvolumes(const std::optional<std::string>& filesystem, const Context& ctx);
// The same through a mount of the filesystem (any subvolume of it), never mounting anything:
// for the inventory, which must not change the mount table it watches.
SubvolumeList list_subvolumes_of_mount(const std::string& mount_path);
// The changes validate names, then open and judge the filesystem whole (open_top_level).
SubvolumeInfo create_subvolume(const std::string& name, const std::optional<std::string>& filesystem,
                               const Context& ctx);
// Returns what was deleted. Refuses core subvolumes and anything that is not a subvolume.
SubvolumeInfo delete_subvolume(const std::string& name, const std::optional<std::string>& filesystem,
                               const Context& ctx);
SubvolumeInfo snapshot_subvolume(const std::string& source, const std::string& snapshot,
                                 const std::optional<std::string>& filesystem, const Context& ctx);

// Subvolume id of a top-level subvolume by name: -32002 if absent, -32001 if not a subvolume.
uint64_t subvolume_id_by_name(const TopLevel& top, const std::string& name);

}  // namespace mos::engine::btrfs
