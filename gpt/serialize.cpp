#include "gpt/serialize.hpp"

#include <cstring>

#include "gpt/read.hpp"
#include "gpt/structs.hpp"
#include "gpt/utf16.hpp"

namespace mos::gpt {

std::vector<uint8_t> entry_array_bytes(const Table& t) {
  std::vector<uint8_t> out(t.entry_array_bytes(), 0);
  for (const auto& e : t.entries) {
    EntryRecord r{};
    r.partition_type_guid = e.type;
    r.unique_partition_guid = e.unique;
    r.starting_lba = e.first_lba;
    r.ending_lba = e.last_lba;
    r.attributes = e.attributes;
    auto units = encode_name(e.name);
    for (size_t i = 0; i < units.size(); ++i) r.partition_name[i] = units[i];
    std::memcpy(out.data() + uint64_t{e.number - 1} * t.entry_size, &r, sizeof r);
  }
  return out;
}

std::vector<uint8_t> header_block(const Table& t, bool primary, uint32_t entries_crc) {
  Header h{};
  std::memcpy(h.signature, kSignature, 8);
  h.revision = kRevision1_0;
  h.header_size = kHeaderSize;
  h.my_lba = primary ? 1 : t.backup_header_lba;
  h.alternate_lba = primary ? t.backup_header_lba : 1;
  h.first_usable_lba = t.first_usable_lba;
  h.last_usable_lba = t.last_usable_lba;
  h.disk_guid = t.disk_guid;
  h.partition_entry_lba = primary ? t.entries_lba : t.backup_entries_lba;
  h.number_of_partition_entries = t.entry_count;
  h.size_of_partition_entry = t.entry_size;
  h.partition_entry_array_crc32 = entries_crc;
  h.header_crc32 = gpt_crc32(&h, sizeof h);
  std::vector<uint8_t> block(t.sector_size, 0);
  std::memcpy(block.data(), &h, sizeof h);
  return block;
}

std::vector<uint8_t> protective_mbr_block(uint64_t disk_sectors) {
  // Built field by field into a zeroed record and then copied: GCC 12 -O2 dropped the stores
  // when they went through a reference into the value-initialised ProtectiveMbr.
  MbrPartitionRecord p;
  std::memset(&p, 0, sizeof p);
  p.start_chs[1] = 0x02;  // CHS 0/0/2 = LBA 1
  p.os_type = kProtectiveType;
  p.end_chs[0] = p.end_chs[1] = p.end_chs[2] = 0xFF;
  p.starting_lba = 1;
  p.size_in_lba = disk_sectors - 1 > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(disk_sectors - 1);
  ProtectiveMbr m;
  std::memset(&m, 0, sizeof m);
  m.partitions[0] = p;
  m.signature = kMbrSignature;
  std::vector<uint8_t> block(512);
  std::memcpy(block.data(), &m, 512);
  return block;
}

mos::WritePlan plan_table_write(const Table& t, const SerializeOptions& opt) {
  const uint64_t ss = t.sector_size;
  std::vector<uint8_t> array = entry_array_bytes(t);
  uint32_t crc = gpt_crc32(array.data(), array.size());
  array.resize(t.entry_array_sectors() * ss, 0);  // whole sectors: no stale bytes after the array
  auto where = [&](uint64_t lba) { return " (LBA " + std::to_string(lba) + ")"; };

  // Backup first, then primary: the primary is what firmware, the kernel and libblkid read
  // first, so it keeps describing the old table (with valid CRCs) until the new table is
  // already durable in the backup; a crash at any point leaves at least one valid copy, old
  // or new, and a crash between the steps leaves the old table visible to every reader.
  mos::WritePlan plan;
  plan.name = "gpt";
  if (opt.backup) {
    auto& s = plan.step("backup");
    s.writes.push_back({t.backup_entries_lba * ss, array, "GPT backup entry array" + where(t.backup_entries_lba)});
    s.writes.push_back({t.backup_header_lba * ss, header_block(t, false, crc), "GPT backup header" + where(t.backup_header_lba)});
  }
  if (opt.primary) {
    auto& s = plan.step("primary");
    s.writes.push_back({t.entries_lba * ss, array, "GPT primary entry array" + where(t.entries_lba)});
    s.writes.push_back({ss, header_block(t, true, crc), "GPT primary header" + where(1)});
    if (opt.protective_mbr) s.writes.push_back({0, protective_mbr_block(t.disk_sectors), "protective MBR (LBA 0)"});
  }
  return plan;
}

}  // namespace mos::gpt
