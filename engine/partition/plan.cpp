#include "engine/partition/plan.hpp"

#include "engine/apply_plan.hpp"
#include "gpt/types.hpp"
#include "ioctl/blkpg.hpp"
#include "base/error.hpp"
#include "ioctl/uevent.hpp"

namespace mos::engine {

gpt::ReadResult read_disk_table(const Disk& d) {
  return gpt::read_table(d.fd, d.facts.size_bytes, d.facts.logical_sector_size);
}

gpt::Table require_healthy_table(const Disk& d, const gpt::ReadResult& r) {
  if (!r.table)
    throw_validation(d.path + " has no valid GPT (primary: " + r.primary_error + "; backup: " + r.backup_error +
                         "); create one with create_partition_table",
                     d.path);
  if (!r.primary_ok)
    throw_validation(d.path + ": the primary GPT is damaged (" + r.primary_error + "); run repair_partition_table first", d.path);
  if (!r.backup_ok)
    throw_validation(d.path + ": the backup GPT is damaged (" + r.backup_error + "); run repair_partition_table first", d.path);
  return *r.table;
}

PartitionInfo partition_info(const Disk& d, const gpt::Table& t, const gpt::Entry& e) {
  PartitionInfo p;
  p.name = partition_name(d.name, e.number);
  p.path = "/dev/" + p.name;
  p.disk = d.path;
  p.number = e.number;
  p.logical_sector_size = t.sector_size;
  p.first_lba = e.first_lba;
  p.last_lba = e.last_lba;
  p.start_bytes = e.first_lba * t.sector_size;
  p.size_bytes = e.sectors() * t.sector_size;
  p.partlabel = e.name;
  p.partuuid = e.unique.to_string();
  p.parttype = e.type.to_string();
  p.parttype_name = gpt::type_name(e.type);
  p.attributes = e.attributes;
  return p;
}

std::vector<KernelCall> kernel_sync_calls(const Disk& d, const gpt::Table* t) {
  std::vector<KernelCall> calls;
  auto known = kernel_partitions(d.name);
  auto wanted = [&](uint32_t n) -> const gpt::Entry* { return t ? t->find(n) : nullptr; };
  for (const auto& k : known) {
    const gpt::Entry* e = wanted(k.number);
    if (!e || e->first_lba * t->sector_size != k.start_bytes) calls.push_back({"blkpg_delete", k.number, 0, 0});
  }
  if (t) {
    for (const auto& e : t->entries) {
      uint64_t start = e.first_lba * t->sector_size, len = e.sectors() * t->sector_size;
      const KernelPartition* k = nullptr;
      for (const auto& kp : known)
        if (kp.number == e.number) k = &kp;
      if (k && k->start_bytes == start) {
        if (k->size_bytes != len) calls.push_back({"blkpg_resize", e.number, start, len});
      } else {
        calls.push_back({"blkpg_add", e.number, start, len});
      }
    }
  }
  calls.push_back({"uevent_change", 0, 0, 0});
  return calls;
}

namespace {

void run_kernel_call(const Disk& d, const KernelCall& c) {
  if (c.op == "blkpg_add") io::blkpg_add_partition(d.fd, static_cast<int>(c.number), c.start_bytes, c.length_bytes);
  else if (c.op == "blkpg_delete") io::blkpg_delete_partition(d.fd, static_cast<int>(c.number));
  else if (c.op == "blkpg_resize") io::blkpg_resize_partition(d.fd, static_cast<int>(c.number), c.start_bytes, c.length_bytes);
  else if (c.op == "blkrrpart") io::blk_reread_partitions(d.fd);
  else if (c.op == "uevent_change") io::emit_change_uevent(d.name);
}

}  // namespace

void execute_plan(const Disk& d, const mos::WritePlan& plan, const std::vector<KernelCall>& calls,
                  PartitionOpResult& result, bool verify_gpt) {
  apply_plan(d.fd, plan);
  if (verify_gpt) {
    auto r = read_disk_table(d);
    if (!r.primary_ok || !r.backup_ok)
      throw Error(ErrorCode::storage_failed,
                  d.path + ": the GPT read back after writing is not valid (primary: " + r.primary_error +
                      "; backup: " + r.backup_error + ")",
                  d.path);
  }
  d.claimed_partition.close();  // BLKPG_DEL_PARTITION fails while we hold it open ourselves
  bool fell_back = false;
  for (const auto& c : calls) {
    if (fell_back && c.op.rfind("blkpg_", 0) == 0) continue;
    try {
      run_kernel_call(d, c);
    } catch (const Error& e) {
      result.notes.push_back(std::string("kernel call ") + c.op + " failed: " + e.what());
      if (c.op.rfind("blkpg_", 0) != 0 || fell_back) continue;
      if (auto busy = disk_busy_reason(d.name, !d.exclusive)) {
        result.notes.push_back("not re-reading the whole table because " + *busy);
        continue;
      }
      try {
        io::blk_reread_partitions(d.fd);
        result.kernel_calls.push_back({"blkrrpart", 0, 0, 0});
        fell_back = true;
      } catch (const Error& e2) {
        result.notes.push_back(std::string("BLKRRPART fallback failed: ") + e2.what());
      }
    }
  }
}

}  // namespace mos::engine
