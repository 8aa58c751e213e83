// Shared machinery of the partitioning operations: load a disk's table, work out the BLKPG calls
// that bring the kernel in line with a table, and apply plan + kernel calls under the whole-disk
// lock.
#pragma once
#include <optional>
#include <string>

#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "gpt/read.hpp"
#include "gpt/table.hpp"
#include "base/write_plan.hpp"

namespace mos::engine {

gpt::ReadResult read_disk_table(const Disk& d);
// The table, insisting both copies are good (edits never silently rewrite a damaged copy).
gpt::Table require_healthy_table(const Disk& d, const gpt::ReadResult& r);

PartitionInfo partition_info(const Disk& d, const gpt::Table& t, const gpt::Entry& e);

// BLKPG calls that make the kernel's partitions of `d` equal to the table's entries
// (nullopt table: remove them all), followed by the disk's "change" uevent.
std::vector<KernelCall> kernel_sync_calls(const Disk& d, const gpt::Table* t);

// Applies the plan (engine::apply_plan: steps, fsyncs, crash points), re-reads the table to
// verify it, then runs the kernel calls. Kernel failures become notes; a BLKPG failure falls
// back to BLKRRPART only when no partition of the disk is busy.
void execute_plan(const Disk& d, const mos::WritePlan& plan, const std::vector<KernelCall>& calls,
                  PartitionOpResult& result, bool verify_gpt);

}  // namespace mos::engine
