// Which disks make one MOS installation: disks are tied together by what a two-disk node shares
// (the MOSDATA btrfs fsid, the md array UUIDs of mosefi/mosboot). Two installations visible at
// once (a disk from another node plugged in: same labels, other ids) are never mixed and never
// guessed between: mos_sysvol refuses unless [storage] data_fsid names the one to bring up.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/sysvol/record.hpp"
#include "engine/sysvol/steps.hpp"

namespace mos::engine::sysvol {

struct Installation {
  std::set<std::string> disks;          // whole disks (or whole devices) it lives on
  std::set<std::string> data_fsids;     // MOSDATA btrfs fsids found on them
  std::set<std::string> array_uuids;    // md array UUIDs of their mosefi/mosboot members
  std::string describe() const;         // "/dev/vda, /dev/vdb (MOSDATA fsid ..., md ...)"
};

// The whole disk a device lives on: its parent, or itself.
std::string disk_of(const Device& d);

// Groups the MOS disks and the disks of every MOS device found into installations.
std::vector<Installation> group_installations(const std::vector<MosDisk>& mos_disks, const Found& found);

// The installation to bring up: the only one, or the one holding cfg.data_fsid. nullopt (with
// an error in the report) when two or more are visible and none is named, or the named fsid is
// not there.
std::optional<Installation> pick_installation(const std::vector<Installation>& all, const Config& cfg, Reporter& rep);

// Found without the devices of disks outside `disks` (md devices stay: they are assembled from
// the installation's members only) and without the `excluded` devices.
Found restrict_found(const Found& f, const std::set<std::string>& disks, const std::set<std::string>& excluded = {});

}  // namespace mos::engine::sysvol
