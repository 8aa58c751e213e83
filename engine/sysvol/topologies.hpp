// storage.feasible_topologies: which of the seed's storage templates (BtrfsSingle,
// BcachefsSingle, DualIndependent, SsdHddBcachefs, Bcachefs2Copy, BtrfsRaid1) this node could
// get from the disks that are free now, judged by mos_sysvol's candidate rules (sysvol_disks:
// whole, blank, not removable/read-only/system, big enough for the MOS layout), their class
// (ssd/hdd from queue/rotational, nvme) and what the running kernel can mount.
// judge_topologies is pure (unit-tested); feasible_topologies gathers the facts.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/fstypes.hpp"
#include "engine/json.hpp"
#include "engine/sysvol/disks.hpp"

namespace mos::engine {

struct CandidateDisk {
  std::string path;
  uint64_t size_bytes = 0;
  std::string media;  // nvme | ssd | hdd
};
void to_json(json& j, const CandidateDisk& d);

// Filesystems the running kernel has or can load (engine/fstypes.hpp's kernel_has).
struct KernelFilesystems {
  bool btrfs = false;
  bool bcachefs = false;
};

struct TopologyAnswer {
  std::string name;         // BtrfsSingle, ...
  std::string description;
  uint32_t min_disks = 1;
  bool feasible = false;
  std::vector<std::string> disks;  // what it would use, in role order (SsdHddBcachefs: ssd, hdd)
  uint64_t usable_bytes = 0;       // rough capacity of the data filesystem before its overhead
  std::vector<std::string> reasons;
};
void to_json(json& j, const TopologyAnswer& t);

struct TopologyReport {
  std::vector<TopologyAnswer> topologies;
  std::vector<CandidateDisk> candidates;      // free disks, largest first
  std::vector<sysvol::Refusal> not_candidates;  // eligible devices that are not free, with why
  KernelFilesystems kernel;
};
void to_json(json& j, const TopologyReport& r);

using TopologyOptions = KernelPlaces;

// nvme when the kernel name starts with "nvme", else hdd when rotational, else ssd.
std::string media_class(const Device& d);
KernelFilesystems kernel_filesystems(const TopologyOptions& opts);
// The six templates, in the seed's order. `two` is mos_sysvol's pick of two disks (the two
// largest of one class), empty when fewer than two candidates exist.
std::vector<TopologyAnswer> judge_topologies(const std::vector<CandidateDisk>& candidates,
                                             const std::vector<std::string>& two, const KernelFilesystems& kernel);
TopologyReport feasible_topologies(const Context& ctx, const TopologyOptions& opts = {});

}  // namespace mos::engine
