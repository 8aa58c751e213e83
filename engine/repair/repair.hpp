// storage.repair_superblock: a damaged primary superblock (or primary GPT) rewritten from the
// copy its format keeps, like `btrfs rescue super-recover`, the start of `e2fsck -b`, fsck.fat's
// backup boot sector and sgdisk's primary-from-backup. Only a copy that proves itself is used and
// nothing but the primary is written; anything doubtful is refused with what was found.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/json.hpp"
#include "engine/plan_summary.hpp"

namespace mos::engine {

struct RepairRequest {
  std::string device;
  bool dry_run = false;
};

struct RepairResult {
  Device device;       // after the repair (as it was for a dry run or when nothing was written)
  std::string format;  // btrfs | ext4 | ext3 | ext2 | vfat | gpt
  std::optional<std::string> damage;  // what is wrong with the primary; null when it is healthy
  std::optional<std::string> source;  // the copy the primary is rewritten from; null when nothing is
  bool dry_run = false;
  bool repaired = false;  // the primary was rewritten by this call
  PlanSummary plan;       // what is (or would be) written; no steps when nothing is to be done
  std::vector<std::string> notes;  // fields recomputed, what was left as it is
};
void to_json(json& j, const RepairResult& r);

// Judges the device for writing (ctx.policy), refuses it while it is mounted or held (force does
// not exist here), holds it O_EXCL under LOCK_EX, and rewrites its damaged primary from the copy:
// btrfs from the newest valid mirror (all valid copies agreeing on the fsid, checksum computable
// here), FAT32 from its backup boot sector, ext2/3/4 from a backup group's superblock (primary
// group descriptors intact, journal clean), a GPT's primary header and entries from the backup.
// A healthy primary is left alone (repaired false, a note says so). Crash points
// "repair:after-<step>" (GPT: the partition engine's "gpt:after-<step>").
// Throws -32001 for a refusal, naming what was found (and, for ext4, the e2fsck command).
RepairResult repair_superblock(const RepairRequest& req, const Context& ctx);

// What mos_sysvol's [recovery] superblocks = "repair" asks before it writes: whether
// repair_superblock would rewrite the damaged primary of `device` (its dry run, which applies
// every rule above: btrfs same fsid, highest generation, checksum valid; GPT backup CRCs valid).
struct RepairCheck {
  bool safe = false;
  std::string detail;  // the copy it would write from, or why not
};
RepairCheck repair_is_safe(const std::string& device, const Context& ctx);

}  // namespace mos::engine
