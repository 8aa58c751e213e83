// mos_sysvol's provisioning record: the positive evidence that a first boot is unfinished.
// It lives in the GPT entries of the partitions a first boot formats, as attribute bits of the
// type-specific range (48-63) that no specification uses for our partition types (ESP, Linux
// data, Linux swap; the Discoverable Partitions Specification takes 59, 60 and 63, Microsoft's
// basic data 60-63, ChromeOS 48-56 only on its own kernel type). sgdisk -v, sfdisk and blkid
// show them as plain flags ("GUID:48", PART_ENTRY_FLAGS) and nothing acts on them.
//
// Written with the table itself (one GPT write, backup then primary, each flushed), cleared for a
// partition in a GPT rewrite once its format is committed and flushed: every power loss leaves
// one valid copy saying either "pending" or "done", and "pending" on a finished format is harmless
// (the format is recognised as ours and only the record is cleared).
#pragma once
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/sysvol/config.hpp"
#include "engine/sysvol/layout.hpp"
#include "gpt/table.hpp"

namespace mos::engine::sysvol {

// The partition's first-boot step (its format; with md, the array and its format) is unfinished.
inline constexpr uint64_t kStepPendingBit = 1ull << 48;
// The record belongs to a two-disk first boot: the partner disk carries the same layout.
inline constexpr uint64_t kTwoDiskBit = 1ull << 49;
inline constexpr uint64_t kRecordBits = kStepPendingBit | kTwoDiskBit;

// A disk whose GPT holds exactly the MOS layout: our five partition names and types, in order.
struct MosDisk {
  Device disk;
  gpt::Table table;  // from the primary when it is valid, else from the backup
  bool primary_ok = false, backup_ok = false;
  std::string primary_error, backup_error;
  std::set<uint32_t> pending;  // partitions whose step the record says is unfinished
  bool two_disk = false;       // a pending entry carries kTwoDiskBit

  bool recorded() const { return !pending.empty(); }
  std::string partition_path(uint32_t number) const;
};

// The layout partition with this number (1-based): names, types, filesystems and labels do
// not depend on the disk's size.
const PlannedPartition& layout_partition(uint32_t number);
// How many partitions the layout has.
uint32_t layout_partition_count();
// Short step name used in crash points and messages: efi, boot, swap, data.
std::string step_name(const PlannedPartition& p);

// nullopt when the disk does not carry our layout (reads its GPT only).
std::optional<MosDisk> read_mos_disk(const Device& disk);
// Every eligible whole disk (sysvol/disks.hpp rules) of `all` carrying our layout that may serve
// a MOS role (may_serve_mos_role).
std::vector<MosDisk> find_mos_disks(const std::vector<Device>& all, const Policy& policy, const Config& cfg);

// The record bits a partition gets when the first boot writes the GPT: pending for each one
// that gets a filesystem (plus kTwoDiskBit on a two-disk first boot), none for mosbios.
uint64_t initial_record_bits(const PlannedPartition& p, bool two_disk);

// Clears the record of `numbers` on `disk` in one GPT rewrite (crash points "record:after-backup"
// and "record:after-primary"); the other attribute bits stay.
void clear_record(const std::string& disk, const std::vector<uint32_t>& numbers, const Context& ctx);

}  // namespace mos::engine::sysvol
