#include "engine/sysvol/recovery.hpp"

#include "engine/partition/partition.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {

bool may_repair_superblock(const Config& cfg, const std::string& fstype, const ContentVerdict& v) {
  return cfg.superblocks == "repair" && fstype == "btrfs" && v.state == ContentState::damaged && v.fstype == "btrfs" &&
         !v.repair.empty();
}

bool may_repair_table(const Config& cfg, const MosDisk& m) {
  return cfg.superblocks == "repair" && m.primary_ok != m.backup_ok;
}

RepairOutcome repair_superblock_from_copy(const std::string& device, const Context&) {
  // engine::repair_superblock (branch i18repair) is not in this build yet: nothing is written.
  return {false, "repair not available in this build (engine::repair_superblock has not landed); " + device + " left as it is"};
}

RepairOutcome repair_table_copy(const std::string& disk, const Context& ctx) {
  try {
    auto r = repair_partition_table(disk, false, ctx);
    std::string what;
    for (const auto& n : r.notes) what += (what.empty() ? "" : "; ") + n;
    return {true, what};
  } catch (const Error& e) {
    return {false, e.what()};
  }
}

}  // namespace mos::engine::sysvol
