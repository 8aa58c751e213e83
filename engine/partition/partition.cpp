#include "engine/partition/partition.hpp"

#include <algorithm>
#include <numeric>

#include "engine/disk_access.hpp"
#include "engine/partition/plan.hpp"
#include "engine/safety.hpp"
#include "gpt/build.hpp"
#include "gpt/serialize.hpp"
#include "gpt/types.hpp"
#include "gpt/utf16.hpp"
#include "base/text.hpp"
#include "base/error.hpp"

namespace mos::engine {

namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

struct RawGap { uint64_t first_lba, last_lba; };

// Unpartitioned LBA ranges of the usable area, in disk order.
std::vector<RawGap> raw_gaps(const gpt::Table& t) {
  std::vector<const gpt::Entry*> by_start;
  for (const auto& e : t.entries) by_start.push_back(&e);
  std::sort(by_start.begin(), by_start.end(), [](auto* a, auto* b) { return a->first_lba < b->first_lba; });
  std::vector<RawGap> gaps;
  uint64_t cursor = t.first_usable_lba;
  for (const auto* e : by_start) {
    if (e->first_lba > cursor) gaps.push_back({cursor, e->first_lba - 1});
    cursor = std::max(cursor, e->last_lba + 1);
  }
  if (cursor <= t.last_usable_lba) gaps.push_back({cursor, t.last_usable_lba});
  return gaps;
}

std::vector<FreeSpan> aligned_gaps(const gpt::Table& t, uint64_t align) {
  std::vector<FreeSpan> out;
  for (const auto& g : raw_gaps(t)) {
    uint64_t start = align_up(g.first_lba * t.sector_size, align);
    uint64_t end = (g.last_lba + 1) * t.sector_size;
    if (end > start && end - start >= align) out.push_back({start, end, end - start});
  }
  return out;
}

uint64_t alignment_of(const Disk& d) {
  return partition_alignment(d.facts.logical_sector_size, d.facts.optimal_io_size);
}

// Why the disk may not be overwritten without force: a partition table, or what the safety gate
// refuses (a signature, a damaged filesystem, non-zero bytes where superblocks and their copies
// live, partitions left behind an erased table).
std::optional<std::string> content_reason(const Disk& d, const gpt::ReadResult& r) {
  if (r.table) return d.path + " already has a GPT partition table";
  if (!r.primary_error.empty() && r.primary_error.find("no 'EFI PART' signature") == std::string::npos)
    return d.path + " has a damaged GPT (" + r.primary_error + ")";
  if (r.mbr_kind == "mbr" || r.mbr_kind == "hybrid" || r.mbr_kind == "protective") return d.path + " has an MBR partition table";
  fsmake::ProbeSource src(d.fd, d.facts.size_bytes, d.facts.logical_sector_size, fsmake::ProbeSource::Read::whole);
  if (std::string why = content_refusal(d.path, fsmake::probe_device(src), src, true); !why.empty()) return why;
  return std::nullopt;
}

PartitionOpResult begin(const Disk& d, bool dry_run) {
  PartitionOpResult res;
  res.device = d.path;
  res.dry_run = dry_run;
  res.plan.name = "gpt";  // a table write's plan (no steps when nothing is to be written)
  return res;
}

// Common tail of every table edit: plan, kernel calls, and (unless dry-run) execution.
void finish_edit(const Disk& d, const gpt::Table& t, const gpt::SerializeOptions& opt, PartitionOpResult& res,
                 const std::string& plan_name = "gpt") {
  mos::WritePlan plan = gpt::plan_table_write(t, opt);
  plan.name = plan_name;
  res.plan = summarize_plan(plan);
  res.kernel_calls = kernel_sync_calls(d, &t);
  if (res.dry_run) return;
  if (test_hooks::inside_table_lock) test_hooks::inside_table_lock(d.path);
  execute_plan(d, plan, res.kernel_calls, res, true);
}

// The disk of a table edit: judged and held from here to the last kernel call
// (open_disk_for_change), or judged the same way and only read for a dry run.
Disk edit_disk(const std::string& path, const Policy& policy, bool dry_run, bool siblings_may_be_busy) {
  if (!dry_run) return open_disk_for_change(path, policy, siblings_may_be_busy);
  return open_disk(policy.judge(path, siblings_may_be_busy ? Access::table : Access::write), false);
}

}  // namespace

uint64_t partition_alignment(uint32_t ss, uint32_t optimal_io) {
  uint64_t align = kMiB;
  if (optimal_io > 0 && optimal_io % ss == 0 && kMiB % optimal_io != 0) {
    uint64_t l = std::lcm(kMiB, uint64_t{optimal_io});
    if (l <= 64 * kMiB) align = l;  // an absurd optimal I/O size must not eat the disk
  }
  return std::max<uint64_t>(align, ss);
}

TableStatus read_partition_table(const std::string& path, const Context& ctx) {
  Disk d = open_disk(ctx.policy.judge(path, Access::read), false);
  auto r = read_disk_table(d);
  TableStatus s;
  s.disk = d.path;
  s.has_gpt = r.table.has_value();
  s.primary_ok = r.primary_ok;
  s.backup_ok = r.backup_ok;
  s.primary_error = r.primary_error;
  s.backup_error = r.backup_error;
  s.mbr_kind = r.mbr_kind;
  s.warnings = r.warnings;
  if (r.table) {
    const auto& t = *r.table;
    s.disk_guid = t.disk_guid.to_string();
    s.first_usable_bytes = t.first_usable_lba * t.sector_size;
    s.last_usable_bytes = (t.last_usable_lba + 1) * t.sector_size - 1;
    s.entry_count = t.entry_count;
    for (const auto& e : t.entries) s.partitions.push_back(partition_info(d, t, e));
  }
  return s;
}

std::vector<FreeSpan> list_free_space(const std::string& path, const Context& ctx) {
  Disk d = open_disk(ctx.policy.judge(path, Access::read), false);
  auto r = read_disk_table(d);
  if (!r.table) throw_validation(d.path + " has no GPT partition table (create one with create_partition_table)", d.path);
  return aligned_gaps(*r.table, alignment_of(d));
}

PartitionOpResult create_partition_table(const std::string& path, bool force, bool dry_run, const Context& ctx) {
  Disk d = edit_disk(path, ctx.policy, dry_run, false);
  if (auto busy = disk_busy_reason(d.name, !d.exclusive))
    throw_validation("refusing to create a partition table on " + d.path + ": " + *busy + " (force does not override this)", d.path);
  auto r = read_disk_table(d);
  if (!force)
    if (auto why = content_reason(d, r)) throw_validation(*why + "; pass force to overwrite it", d.path);
  gpt::Table t = gpt::new_table(d.facts.size_bytes, d.facts.logical_sector_size);
  auto res = begin(d, dry_run);
  finish_edit(d, t, {.primary = true, .backup = true, .protective_mbr = true}, res);
  return res;
}

namespace {

// Places one partition in the in-memory table the way create_partition documents; returns its number.
uint32_t place_partition(const Disk& d, gpt::Table& t, const CreatePartitionRequest& req) {
  gpt::Guid type = gpt::parse_type(req.part_type);
  const uint64_t ss = t.sector_size;
  if (req.size_bytes && *req.size_bytes == 0) throw_validation("size_bytes must be greater than 0");
  uint64_t first_lba = 0, last_lba = 0;
  if (req.start_bytes) {
    if (*req.start_bytes % ss != 0)
      throw_validation("start_bytes " + std::to_string(*req.start_bytes) + " is not a multiple of the sector size " + std::to_string(ss));
    first_lba = *req.start_bytes / ss;
    std::optional<RawGap> found;
    for (const auto& g : raw_gaps(t))
      if (first_lba >= g.first_lba && first_lba <= g.last_lba) found = g;
    if (!found) throw_validation("start_bytes " + std::to_string(*req.start_bytes) + " is not in free space of " + d.path);
    last_lba = req.size_bytes ? first_lba + (*req.size_bytes + ss - 1) / ss - 1 : found->last_lba;
    if (last_lba > found->last_lba)
      throw_validation("a partition of " + mos::bytes_text(*req.size_bytes) + " at " + std::to_string(*req.start_bytes) +
                       " does not fit: the free space there ends at byte " + std::to_string((found->last_lba + 1) * ss));
  } else {
    auto gaps = aligned_gaps(t, alignment_of(d));
    if (gaps.empty()) throw_validation(d.path + " has no free space left", d.path);
    const FreeSpan* pick = nullptr;
    if (req.size_bytes) {
      for (const auto& g : gaps)
        if (g.size_bytes >= *req.size_bytes) { pick = &g; break; }
      if (!pick) {
        uint64_t largest = 0;
        for (const auto& g : gaps) largest = std::max(largest, g.size_bytes);
        throw_validation("no free space of " + mos::bytes_text(*req.size_bytes) + " on " + d.path + " (largest aligned gap: " +
                         mos::bytes_text(largest) + ")", d.path);
      }
    } else {
      pick = &*std::max_element(gaps.begin(), gaps.end(), [](auto& a, auto& b) { return a.size_bytes < b.size_bytes; });
    }
    first_lba = pick->start_bytes / ss;
    last_lba = req.size_bytes ? first_lba + (*req.size_bytes + ss - 1) / ss - 1 : pick->end_bytes / ss - 1;
  }
  return gpt::add_partition(t, {type, {}, first_lba, last_lba, 0, req.name, {}});
}

}  // namespace

PartitionOpResult create_partition(const CreatePartitionRequest& req, const Context& ctx) {
  gpt::parse_type(req.part_type);
  gpt::encode_name(req.name);  // bad names and types fail before the disk is even opened
  Disk d = edit_disk(req.disk, ctx.policy, req.dry_run, true);
  gpt::Table t = require_healthy_table(d, read_disk_table(d));
  uint32_t number = place_partition(d, t, req);
  auto res = begin(d, req.dry_run);
  res.partition = partition_info(d, t, *t.find(number));
  finish_edit(d, t, {}, res);
  return res;
}

PartitionOpResult create_partition_layout(const std::string& path, const std::vector<LayoutPartition>& parts, bool force,
                                          bool dry_run, const Context& ctx) {
  for (const auto& p : parts) {
    gpt::parse_type(p.part_type);
    gpt::encode_name(p.name);
  }
  Disk d = edit_disk(path, ctx.policy, dry_run, false);
  if (auto busy = disk_busy_reason(d.name, !d.exclusive))
    throw_validation("refusing to partition " + d.path + ": " + *busy + " (force does not override this)", d.path);
  if (!force)
    if (auto why = content_reason(d, read_disk_table(d))) throw_validation(*why + "; pass force to overwrite it", d.path);
  gpt::Table t = gpt::new_table(d.facts.size_bytes, d.facts.logical_sector_size);
  auto res = begin(d, dry_run);
  for (const auto& p : parts) {
    uint32_t n = place_partition(d, t, {d.path, p.name, p.part_type, p.size_bytes, {}, dry_run});
    t.find(n)->attributes = p.attributes;
    res.partitions.push_back(partition_info(d, t, *t.find(n)));
  }
  finish_edit(d, t, {.primary = true, .backup = true, .protective_mbr = true}, res);
  return res;
}

PartitionOpResult delete_partition(const std::string& path, uint32_t number, bool dry_run, const Context& ctx) {
  Disk d = edit_disk(path, ctx.policy, dry_run, true);
  gpt::Table t = require_healthy_table(d, read_disk_table(d));
  if (!t.find(number)) throw Error(ErrorCode::not_found, "partition " + std::to_string(number) + " does not exist on " + d.path, d.path);
  for (const auto& k : kernel_partitions(d.name)) {
    if (k.number != number) continue;
    const std::string what = "delete partition " + std::to_string(number);
    if (!dry_run) claim_partition(d, k.name, what);  // nobody mounts it until the entry is gone
    if (auto busy = busy_reason(k.name, dry_run)) throw_validation("refusing to " + what + ": " + *busy, d.path);
  }
  gpt::delete_partition(t, number);
  auto res = begin(d, dry_run);
  finish_edit(d, t, {}, res);
  return res;
}

PartitionOpResult resize_partition(const std::string& path, uint32_t number, std::optional<uint64_t> size_bytes, bool dry_run,
                                   const Context& ctx) {
  Disk d = edit_disk(path, ctx.policy, dry_run, true);
  gpt::Table t = require_healthy_table(d, read_disk_table(d));
  const gpt::Entry* e = t.find(number);
  if (!e) throw Error(ErrorCode::not_found, "partition " + std::to_string(number) + " does not exist on " + d.path, d.path);
  const uint64_t ss = t.sector_size;
  uint64_t new_last;
  if (size_bytes) {
    if (*size_bytes == 0) throw_validation("size_bytes must be greater than 0");
    new_last = e->first_lba + (*size_bytes + ss - 1) / ss - 1;
  } else {
    new_last = t.last_usable_lba;
    for (const auto& o : t.entries)
      if (o.first_lba > e->last_lba) new_last = std::min(new_last, o.first_lba - 1);
  }
  if (new_last < e->last_lba)
    throw_validation("shrinking partition " + std::to_string(number) + " from " + mos::bytes_text(e->sectors() * ss) + " to " +
                     mos::bytes_text((new_last - e->first_lba + 1) * ss) + " would cut off its data; only growing is supported", d.path);
  gpt::resize_partition(t, number, new_last);
  auto res = begin(d, dry_run);
  res.partition = partition_info(d, t, *t.find(number));
  finish_edit(d, t, {}, res);
  return res;
}

PartitionOpResult set_partition_attributes(const std::string& path, const std::map<uint32_t, uint64_t>& attributes,
                                           bool dry_run, const Context& ctx, const std::string& plan_name) {
  Disk d = edit_disk(path, ctx.policy, dry_run, true);
  gpt::Table t = require_healthy_table(d, read_disk_table(d));
  for (const auto& [number, bits] : attributes) {
    gpt::Entry* e = t.find(number);
    if (!e) throw Error(ErrorCode::not_found, "partition " + std::to_string(number) + " does not exist on " + d.path, d.path);
    e->attributes = bits;
  }
  auto res = begin(d, dry_run);
  finish_edit(d, t, {}, res, plan_name);
  return res;
}

PartitionOpResult sync_kernel_partitions(const std::string& path, const Context& ctx) {
  Disk d = edit_disk(path, ctx.policy, false, true);
  auto r = read_disk_table(d);
  if (!r.table) throw_validation(d.path + " has no valid GPT to tell the kernel about", d.path);
  auto res = begin(d, false);
  res.kernel_calls = kernel_sync_calls(d, &*r.table);
  execute_plan(d, mos::WritePlan{}, res.kernel_calls, res, false);
  return res;
}

PartitionOpResult repair_partition_table(const std::string& path, bool dry_run, const Context& ctx,
                                         bool partitions_may_be_busy) {
  Disk d = edit_disk(path, ctx.policy, dry_run, partitions_may_be_busy);
  auto r = read_disk_table(d);
  if (!r.table)
    throw_validation(d.path + ": neither GPT copy is valid, nothing to repair from (primary: " + r.primary_error +
                     "; backup: " + r.backup_error + ")", d.path);
  gpt::Table t = *r.table;
  uint64_t last_lba = t.disk_sectors - 1;
  bool backup_misplaced = t.backup_header_lba != last_lba;
  auto res = begin(d, dry_run);
  gpt::SerializeOptions opt{.primary = !r.primary_ok, .backup = !r.backup_ok, .protective_mbr = false};
  if (r.mbr_kind != "protective" && r.mbr_kind != "hybrid") opt.primary = opt.protective_mbr = true;
  if (backup_misplaced) {
    // The device grew (or shrank under a valid primary): move the backup to the real end and
    // make the space before it usable; the primary must then point at it too.
    t.backup_header_lba = last_lba;
    t.backup_entries_lba = last_lba - t.entry_array_sectors();
    uint64_t highest_end = 0;
    for (const auto& e : t.entries) highest_end = std::max(highest_end, e.last_lba);
    if (t.backup_entries_lba <= highest_end)
      throw_validation(d.path + " is now smaller than partition table entries reach (LBA " + std::to_string(highest_end) + ")", d.path);
    t.last_usable_lba = t.backup_entries_lba - 1;
    opt.primary = opt.backup = true;
    res.notes.push_back("moving the backup GPT to the end of the device (LBA " + std::to_string(last_lba) + ")");
  }
  if (!opt.primary && !opt.backup) {
    res.notes.push_back("both GPT copies are valid; nothing to repair");
    return res;
  }
  if (!r.primary_ok) res.notes.push_back("rewriting the primary GPT from the backup (" + r.primary_error + ")");
  if (!r.backup_ok) res.notes.push_back("rewriting the backup GPT from the primary (" + r.backup_error + ")");
  finish_edit(d, t, opt, res);
  return res;
}

}  // namespace mos::engine
