// The provisioning record in the GPT: recognising our layout, reading and clearing the record.
#include "engine/sysvol/record.hpp"

#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "engine/partition/plan.hpp"
#include "engine/sysvol/disks.hpp"
#include "base/error.hpp"
#include "gpt/types.hpp"

namespace mos::engine::sysvol {

namespace {

// Names, types, filesystems and labels of the layout; its sizes are those of the smallest disk.
const Layout& reference_layout() {
  static const Layout ref = plan_layout("the reference layout", kMinDiskBytes, 512, default_config());
  return ref;
}

}  // namespace

const PlannedPartition& layout_partition(uint32_t number) {
  const Layout& ref = reference_layout();
  if (number < 1 || number > ref.partitions.size()) throw_validation("no partition " + std::to_string(number) + " in the MOS layout");
  return ref.partitions[number - 1];
}

uint32_t layout_partition_count() { return static_cast<uint32_t>(reference_layout().partitions.size()); }

std::string step_name(const PlannedPartition& p) {
  if (p.fstype == "vfat") return "efi";
  if (p.fstype == "ext4") return "boot";
  if (p.fstype == "swap") return "swap";
  return "data";
}

std::string MosDisk::partition_path(uint32_t number) const { return "/dev/" + partition_name(disk.name, number); }

std::optional<MosDisk> read_mos_disk(const Device& disk) {
  gpt::ReadResult r;
  try {
    Disk d = open_disk(disk.path, false);
    r = read_disk_table(d);
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!r.table) return std::nullopt;
  const auto& entries = r.table->entries;
  if (entries.size() != layout_partition_count()) return std::nullopt;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& want = layout_partition(static_cast<uint32_t>(i + 1));
    if (entries[i].number != i + 1 || entries[i].name != want.name || entries[i].type != gpt::parse_type(want.part_type))
      return std::nullopt;
  }
  MosDisk m;
  m.disk = disk;
  m.table = *r.table;
  m.primary_ok = r.primary_ok;
  m.backup_ok = r.backup_ok;
  m.primary_error = r.primary_error;
  m.backup_error = r.backup_error;
  for (const auto& e : entries) {
    if (!(e.attributes & kStepPendingBit)) continue;
    m.pending.insert(e.number);
    if (e.attributes & kTwoDiskBit) m.two_disk = true;
  }
  return m;
}

std::vector<MosDisk> find_mos_disks(const std::vector<Device>& all, const Policy& policy, const Config& cfg) {
  std::vector<MosDisk> out;
  for (const auto& d : all)
    if (eligible_kind(d, policy) && !may_serve_mos_role(d, cfg))
      if (auto m = read_mos_disk(d)) out.push_back(std::move(*m));
  return out;
}

uint64_t initial_record_bits(const PlannedPartition& p, bool two_disk) {
  if (p.fstype.empty()) return 0;
  return kStepPendingBit | (two_disk ? kTwoDiskBit : 0);
}

void clear_record(const std::string& disk, const std::vector<uint32_t>& numbers, const Context& ctx) {
  TableStatus t = read_partition_table(disk, ctx);
  std::map<uint32_t, uint64_t> attributes;
  for (uint32_t n : numbers)
    for (const auto& p : t.partitions)
      if (p.number == n) attributes[n] = p.attributes & ~kRecordBits;
  if (attributes.size() != numbers.size()) throw_validation(disk + ": a partition of the provisioning record is missing", disk);
  set_partition_attributes(disk, attributes, false, ctx, "record");
}

}  // namespace mos::engine::sysvol
