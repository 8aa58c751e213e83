// What mos_sysvol does about a damaged primary superblock or GPT copy on its own: with
// [recovery] superblocks = "repair" (or mosrecovery=repair) it rewrites the primary from a copy
// that proves itself by its checksum, and nothing else; with "report" (the default) it only says
// what is damaged and the command that repairs it. README "mos_sysvol: recovery" says why.
#pragma once
#include <string>

#include "engine/content_state.hpp"
#include "engine/context.hpp"
#include "engine/sysvol/config.hpp"
#include "engine/sysvol/record.hpp"

namespace mos::engine::sysvol {

struct RepairOutcome {
  bool repaired = false;
  std::string detail;  // what was written, or why nothing was
};

// "repair" and a btrfs primary superblock whose classification names a valid copy (its repair
// command is set only when the copy's checksum holds). FAT and ext4 damage is reported only.
bool may_repair_superblock(const Config& cfg, const std::string& fstype, const ContentVerdict& v);
// "repair" and exactly one GPT copy damaged, the other valid (header and entry CRCs).
bool may_repair_table(const Config& cfg, const MosDisk& m);

// The primary superblock rewritten from its newest valid copy by the repair operation
// (engine::repair_superblock, after its repair_is_safe dry run); the single place that calls it.
RepairOutcome repair_superblock_from_copy(const std::string& device, const Context& ctx);
// The damaged GPT copy rewritten from the valid one (engine::repair_partition_table).
RepairOutcome repair_table_copy(const std::string& disk, const Context& ctx);

}  // namespace mos::engine::sysvol
