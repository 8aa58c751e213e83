// Partitioning operations (GPT): free space, new table, create / delete / resize partitions,
// wipe signatures, repair. Each mutating operation computes a plan first (exact byte ranges
// and kernel calls); with dry_run it returns that plan, otherwise it applies it under
// flock(LOCK_EX) on the whole disk, tells the kernel with BLKPG and emits a "change" uevent.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/plan_summary.hpp"

namespace mos::engine {

struct FreeSpan {
  uint64_t start_bytes = 0;  // aligned
  uint64_t end_bytes = 0;    // exclusive
  uint64_t size_bytes = 0;
};

struct PartitionInfo {
  std::string path;  // /dev/loop3p2 (what the kernel names it)
  std::string name;  // loop3p2
  std::string disk;  // /dev/loop3
  uint32_t number = 0;
  uint64_t start_bytes = 0;
  uint64_t size_bytes = 0;
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;
  uint32_t logical_sector_size = 512;
  std::string partlabel;
  std::string partuuid;  // lowercase, as blkid prints
  std::string parttype;  // type GUID, lowercase
  std::optional<std::string> parttype_name;  // "esp", "linux", ... when known
  uint64_t attributes = 0;
};

struct KernelCall {
  std::string op;  // "blkpg_add" | "blkpg_delete" | "blkpg_resize" | "blkrrpart" | "uevent_change"
  uint32_t number = 0;
  uint64_t start_bytes = 0;
  uint64_t length_bytes = 0;
};

struct PartitionOpResult {
  std::string device;
  bool dry_run = false;
  PlanSummary plan;  // steps "backup" / "primary" of a table write (crash point "gpt:after-<step>")
  std::vector<KernelCall> kernel_calls;
  std::optional<PartitionInfo> partition;  // the created / resized partition
  std::vector<PartitionInfo> partitions;   // create_partition_layout: all of them, in order
  std::vector<std::string> notes;          // e.g. a kernel notification that fell back
};

struct TableStatus {
  std::string disk;
  bool has_gpt = false;
  bool primary_ok = false, backup_ok = false;
  std::string primary_error, backup_error;
  std::string mbr_kind;
  std::string disk_guid;
  uint64_t first_usable_bytes = 0, last_usable_bytes = 0;
  uint32_t entry_count = 0;
  std::vector<PartitionInfo> partitions;
  std::vector<std::string> warnings;
};

// Alignment the engine places partitions on: 1 MiB, or a multiple of the optimal I/O size
// when the device reports one that 1 MiB does not already cover.
uint64_t partition_alignment(uint32_t logical_sector_size, uint32_t optimal_io_size);

// Every function judges its disk with ctx.policy (canonical path, stack, root and in-use rules;
// the default allows every device but never the root disk nor a busy one) and every change
// holds the disk exclusively from the busy check through the BLKPG calls (disk_access.hpp).
TableStatus read_partition_table(const std::string& disk, const Context& ctx = {});
std::vector<FreeSpan> list_free_space(const std::string& disk, const Context& ctx = {});

PartitionOpResult create_partition_table(const std::string& disk, bool force, bool dry_run, const Context& ctx = {});

struct CreatePartitionRequest {
  std::string disk;
  std::string name;
  std::string part_type;  // name ("linux", "esp", ...) or type GUID
  std::optional<uint64_t> size_bytes;   // absent: all of the largest gap
  std::optional<uint64_t> start_bytes;  // absent: first gap that fits (aligned)
  bool dry_run = false;
};
PartitionOpResult create_partition(const CreatePartitionRequest& req, const Context& ctx = {});

// A fresh GPT holding all of `parts` at once (one table write: two flushes instead of two per
// partition), placed in order exactly as successive create_partition calls would place them.
// Refusal rules of create_partition_table apply.
struct LayoutPartition {
  std::string name;
  std::string part_type;
  std::optional<uint64_t> size_bytes;  // absent: the rest of the largest gap
  uint64_t attributes = 0;             // GPT attribute bits of the entry
};
PartitionOpResult create_partition_layout(const std::string& disk, const std::vector<LayoutPartition>& parts,
                                          bool force, bool dry_run, const Context& ctx = {});

PartitionOpResult delete_partition(const std::string& disk, uint32_t number, bool dry_run, const Context& ctx = {});
// size_bytes absent = "max": grow up to the next partition or the end of the usable area.
PartitionOpResult resize_partition(const std::string& disk, uint32_t number,
                                   std::optional<uint64_t> size_bytes, bool dry_run, const Context& ctx = {});
// Rewrites the table (backup then primary, each flushed) with new attribute bits for the given
// partitions, nothing else changed; both copies must be valid, as for every edit. `plan_name`
// names the write's crash points ("<plan_name>:after-backup"), so a caller's own use of the table
// (mos_sysvol's provisioning record) can be crashed apart from other table writes.
PartitionOpResult set_partition_attributes(const std::string& disk, const std::map<uint32_t, uint64_t>& attributes,
                                           bool dry_run, const Context& ctx = {},
                                           const std::string& plan_name = "gpt");
// Tells the kernel the partitions the disk's table holds (BLKPG only, nothing written to the
// disk): a table whose writer stopped before its kernel calls becomes visible.
PartitionOpResult sync_kernel_partitions(const std::string& disk, const Context& ctx = {});
// Rewrites the damaged GPT copy from the valid one (or moves a misplaced backup to the end).
// partitions_may_be_busy false (repair_superblock): refused while any partition of the disk is
// in use, the whole disk held O_EXCL throughout.
PartitionOpResult repair_partition_table(const std::string& disk, bool dry_run, const Context& ctx = {},
                                         bool partitions_may_be_busy = true);
// Erases every signature (GPT primary and backup headers, MBR magic, filesystem magics) on a
// disk or partition; refuses busy devices always and needs force for devices holding data.
PartitionOpResult wipe_signatures(const std::string& device, bool force, bool dry_run, const Context& ctx = {});

// The partition as a device object (DESIGN.md contract). With `discover`, the kernel's view
// (mountpoints, holders, sizes) completed with the GPT facts we just wrote; without (dry run),
// built from the plan alone.
Device partition_device(const PartitionInfo& p, bool discover);

}  // namespace mos::engine
