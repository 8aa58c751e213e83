// mos_sysvol disk selection for a fresh node: which whole disks may receive the MOS layout.
// select_disks is a pure function over facts (unit-tested with synthetic lists);
// gather_disk_facts does the reads it needs (busy state, the places superblocks and their
// copies live, the erased-table scan).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/sysvol/config.hpp"

namespace mos::engine::sysvol {

struct DiskFacts {
  Device device;                    // a whole disk (or loop/md/... when allowed explicitly)
  std::optional<std::string> busy;  // mounted, held, swap, claimed (the disk or a partition)
  bool holds_root = false;          // "/" lives on it
  bool has_partitions = false;      // the kernel knows partitions of it
  // Why its content is not blank though no prober names a signature on it: non-zero bytes
  // where a format keeps a superblock or a copy, or partitions left behind an erased table.
  std::optional<std::string> unnamed_content;
  std::optional<std::string> read_error;
};

struct Refusal {
  std::string path;
  std::string reason;
};

struct Selection {
  std::vector<Device> chosen;    // 0, 1 or 2 disks, largest first
  std::vector<Refusal> refused;  // not blank, busy, too small, ...
  std::vector<Refusal> unused;   // blank and big enough, but not among the two chosen
};

// Whether a device may be considered at all: whole disks (kind "disk") that the policy allows;
// loop, md, dm, zram and rom devices only when an explicit allow-list names them.
bool eligible_kind(const Device& d, const Policy& policy);

// Whether a device may serve a MOS role (MOSEFI, MOSBOOT, MOSSWAP, MOSDATA, an md member, a disk
// carrying the layout) at this boot: not when it is removable media, unless cfg.allow_removable.
// nullopt = yes; else why not.
std::optional<std::string> may_serve_mos_role(const Device& d, const Config& cfg);

// Blank = no prober signature (damaged or not), no partition table, no kernel partitions, zeros
// wherever a format keeps a superblock or a copy, and no partitions behind an erased table.
Selection select_disks(const std::vector<DiskFacts>& disks, const Config& cfg);

// Facts for every eligible device of `all` (reads only those). cfg: the layout whose partition
// starts the erased-table scan also looks at.
std::vector<DiskFacts> gather_disk_facts(const std::vector<Device>& all, const Policy& policy, const Config& cfg);

}  // namespace mos::engine::sysvol
