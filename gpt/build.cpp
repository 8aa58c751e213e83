#include "gpt/build.hpp"

#include <algorithm>

#include "gpt/utf16.hpp"
#include "base/error.hpp"

namespace mos::gpt {

namespace {

std::string lba_range(uint64_t a, uint64_t b) {
  return "LBA " + std::to_string(a) + "-" + std::to_string(b);
}

}  // namespace

Table new_table(uint64_t device_size, uint32_t ss, uint32_t entry_count) {
  if (ss < 512 || ss > 65536 || (ss & (ss - 1)) != 0)
    throw_validation("logical sector size " + std::to_string(ss) + " is not a power of two in [512, 65536]");
  if (entry_count < 128 || entry_count > 16384)
    throw_validation("partition entry count " + std::to_string(entry_count) + " outside [128, 16384]");
  Table t;
  t.sector_size = ss;
  t.disk_sectors = device_size / ss;
  t.disk_guid = Guid::random();
  t.entry_count = entry_count;
  t.entry_size = 128;
  uint64_t array_sectors = t.entry_array_sectors();
  // pMBR + header + array at the front, array + header at the back, and at least one sector.
  if (t.disk_sectors < 2 * (array_sectors + 1) + 2)
    throw_validation("device of " + std::to_string(device_size) + " bytes is too small for a GPT");
  t.entries_lba = 2;
  t.first_usable_lba = 2 + array_sectors;
  t.backup_header_lba = t.disk_sectors - 1;
  t.backup_entries_lba = t.backup_header_lba - array_sectors;
  t.last_usable_lba = t.backup_entries_lba - 1;
  return t;
}

void check_range(const Table& t, uint64_t first, uint64_t last, uint32_t ignore) {
  if (first > last) throw_validation("partition would end (LBA " + std::to_string(last) + ") before it starts (LBA " + std::to_string(first) + ")");
  if (first < t.first_usable_lba || last > t.last_usable_lba)
    throw_validation("partition " + lba_range(first, last) + " lies outside the usable area " +
                     lba_range(t.first_usable_lba, t.last_usable_lba));
  for (const auto& e : t.entries) {
    if (e.number == ignore) continue;
    if (first <= e.last_lba && e.first_lba <= last)
      throw_validation("partition " + lba_range(first, last) + " overlaps partition " + std::to_string(e.number) +
                       " (" + lba_range(e.first_lba, e.last_lba) + ")");
  }
}

uint32_t add_partition(Table& t, const NewPartition& p) {
  if (p.type.is_zero()) throw_validation("partition type GUID must not be all zeros");
  encode_name(p.name);  // validates UTF-8 and the 36-unit limit
  uint32_t number = 0;
  if (p.number) {
    if (*p.number < 1 || *p.number > t.entry_count)
      throw_validation("partition number " + std::to_string(*p.number) + " outside [1, " + std::to_string(t.entry_count) + "]");
    if (t.find(*p.number)) throw_validation("partition number " + std::to_string(*p.number) + " is already in use");
    number = *p.number;
  } else {
    for (uint32_t n = 1; n <= t.entry_count && !number; ++n)
      if (!t.find(n)) number = n;
    if (!number) throw_validation("all " + std::to_string(t.entry_count) + " partition entries are in use");
  }
  check_range(t, p.first_lba, p.last_lba);
  Guid unique = p.unique ? *p.unique : Guid::random();
  if (unique.is_zero()) throw_validation("partition GUID must not be all zeros");
  for (const auto& e : t.entries)
    if (e.unique == unique) throw_validation("partition GUID " + unique.to_string() + " is already used by partition " + std::to_string(e.number));
  Entry e{number, p.type, unique, p.first_lba, p.last_lba, p.attributes, p.name};
  t.entries.push_back(std::move(e));
  std::sort(t.entries.begin(), t.entries.end(), [](const Entry& a, const Entry& b) { return a.number < b.number; });
  return number;
}

void delete_partition(Table& t, uint32_t number) {
  auto it = std::find_if(t.entries.begin(), t.entries.end(), [&](const Entry& e) { return e.number == number; });
  if (it == t.entries.end()) throw Error(ErrorCode::not_found, "partition " + std::to_string(number) + " does not exist");
  t.entries.erase(it);
}

void resize_partition(Table& t, uint32_t number, uint64_t new_last_lba) {
  Entry* e = t.find(number);
  if (!e) throw Error(ErrorCode::not_found, "partition " + std::to_string(number) + " does not exist");
  check_range(t, e->first_lba, new_last_lba, number);
  e->last_lba = new_last_lba;
}

}  // namespace mos::gpt
