#include "engine/sysvol/recovery.hpp"

#include "engine/partition/partition.hpp"
#include "engine/repair/repair.hpp"
#include "base/error.hpp"

namespace mos::engine::sysvol {

bool may_repair_superblock(const Config& cfg, const std::string& fstype, const ContentVerdict& v) {
  return cfg.superblocks == "repair" && fstype == "btrfs" && v.state == ContentState::damaged && v.fstype == "btrfs" &&
         !v.repair.empty();
}

bool may_repair_table(const Config& cfg, const MosDisk& m) {
  return cfg.superblocks == "repair" && m.primary_ok != m.backup_ok;
}

RepairOutcome repair_superblock_from_copy(const std::string& device, const Context& ctx) {
  try {
    // The operation's own dry run first: it applies every rule (valid checksum, one fsid among
    // the valid copies, the newest of them) and says why not when one fails.
    RepairCheck check = repair_is_safe(device, ctx);
    if (!check.safe) return {false, check.detail};
    RepairResult r = repair_superblock(RepairRequest{device, false}, ctx);
    if (!r.repaired) {
      std::string why;
      for (const auto& n : r.notes) why += (why.empty() ? "" : "; ") + n;
      return {false, why.empty() ? device + " left as it is" : why};
    }
    return {true, "primary superblock of " + device + " rewritten from " + r.source.value_or("its copy")};
  } catch (const Error& e) {
    return {false, e.what()};
  }
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
