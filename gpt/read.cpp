#include "gpt/read.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "gpt/structs.hpp"
#include "gpt/utf16.hpp"

namespace mos::gpt {

uint32_t gpt_crc32(const void* data, size_t len) {
  return static_cast<uint32_t>(crc32(0L, static_cast<const Bytef*>(data), static_cast<uInt>(len)));
}

namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string lba_range(uint64_t a, uint64_t b) {
  return "LBA " + std::to_string(a) + "-" + std::to_string(b);
}

struct Copy {
  Header header;
  std::vector<uint8_t> entries;  // the raw entry array
};

// Checks one header (at `lba`) and its entry array; returns the copy or sets `err`.
std::optional<Copy> read_copy(const ReadAt& fd, uint64_t lba, bool primary, uint64_t disk_sectors,
                              uint32_t ss, std::string& err) {
  const char* which = primary ? "primary" : "backup";
  std::vector<uint8_t> sector(ss);
  if (fd.pread_some(sector.data(), ss, lba * ss) != ss) {
    err = std::string(which) + " GPT header at LBA " + std::to_string(lba) + " is beyond the end of the device";
    return std::nullopt;
  }
  Copy c;
  std::memcpy(&c.header, sector.data(), sizeof(Header));
  const Header& h = c.header;
  auto fail = [&](const std::string& why) {
    err = std::string(which) + " GPT header at LBA " + std::to_string(lba) + ": " + why;
    return std::nullopt;
  };
  if (std::memcmp(h.signature, kSignature, 8) != 0) return fail("no 'EFI PART' signature");
  if (h.revision != kRevision1_0) return fail("unsupported revision " + hex32(h.revision) + " (expected 0x00010000)");
  uint32_t hsize = h.header_size;
  if (hsize < kHeaderSize || hsize > ss)
    return fail("header size " + std::to_string(hsize) + " outside [92, " + std::to_string(ss) + "]");
  uint32_t stored_crc = h.header_crc32;
  std::memset(sector.data() + offsetof(Header, header_crc32), 0, 4);
  uint32_t crc = gpt_crc32(sector.data(), hsize);
  if (crc != stored_crc) return fail("header CRC mismatch (stored " + hex32(stored_crc) + ", computed " + hex32(crc) + ")");
  if (h.my_lba != lba) return fail("header claims to be at LBA " + std::to_string(h.my_lba.get()));
  uint64_t alt = h.alternate_lba;
  if (primary && (alt <= 1 || alt >= disk_sectors))
    return fail("backup header location LBA " + std::to_string(alt) + " is outside the disk (" +
                std::to_string(disk_sectors) + " sectors; was the device truncated?)");
  if (!primary && alt != 1) return fail("alternate LBA is " + std::to_string(alt) + ", expected 1");
  uint32_t esize = h.size_of_partition_entry, ecount = h.number_of_partition_entries;
  if (esize < 128 || esize > kMaxEntrySize || (esize & (esize - 1)) != 0)
    return fail("partition entry size " + std::to_string(esize) + " is not 128 * 2^n (max " + std::to_string(kMaxEntrySize) + ")");
  if (ecount == 0 || ecount > kMaxEntryCount)
    return fail("partition entry count " + std::to_string(ecount) + " outside [1, " + std::to_string(kMaxEntryCount) + "]");
  uint64_t array_bytes = uint64_t{esize} * ecount;
  if (array_bytes > kMaxEntryArrayBytes)
    return fail("partition entry array of " + std::to_string(array_bytes) + " bytes is implausibly large");
  uint64_t array_sectors = (array_bytes + ss - 1) / ss;
  uint64_t first = h.first_usable_lba, last = h.last_usable_lba;
  if (first > last || last >= disk_sectors - 1 || first < 2)
    return fail("usable area " + lba_range(first, last) + " is not inside the disk (" + std::to_string(disk_sectors) + " sectors)");
  uint64_t elba = h.partition_entry_lba;
  if (elba < 2 || elba >= disk_sectors || array_sectors > disk_sectors - elba)
    return fail("partition entry array at LBA " + std::to_string(elba) + " (" + std::to_string(array_sectors) +
                " sectors) is outside the disk");
  uint64_t elast = elba + array_sectors - 1;
  if (primary && !(elast < first))
    return fail("partition entry array " + lba_range(elba, elast) + " overlaps the usable area from LBA " + std::to_string(first));
  if (!primary && !(elba > last && elast < lba))
    return fail("partition entry array " + lba_range(elba, elast) + " must lie between the usable area end (LBA " +
                std::to_string(last) + ") and the backup header");
  if (primary && alt <= last) return fail("backup header LBA " + std::to_string(alt) + " lies inside the usable area");
  if (!primary && lba <= last) return fail("usable area end LBA " + std::to_string(last) + " reaches the backup header");
  if (first < 2 + array_sectors)
    return fail("usable area starts at LBA " + std::to_string(first) + ", leaving no room for the primary entry array");

  c.entries.resize(array_sectors * ss);
  if (fd.pread_some(c.entries.data(), c.entries.size(), elba * ss) != c.entries.size())
    return fail("partition entry array " + lba_range(elba, elast) + " extends past the end of the device");
  c.entries.resize(array_bytes);
  uint32_t ecrc = gpt_crc32(c.entries.data(), c.entries.size());
  if (ecrc != h.partition_entry_array_crc32)
    return fail("partition entry array CRC mismatch (stored " + hex32(h.partition_entry_array_crc32) +
                ", computed " + hex32(ecrc) + ")");

  // Entries: inside the usable area, non-empty, no overlaps.
  struct Span { uint64_t a, b; uint32_t n; };
  std::vector<Span> spans;
  for (uint32_t i = 0; i < ecount; ++i) {
    EntryRecord r;
    std::memcpy(&r, c.entries.data() + uint64_t{i} * esize, sizeof r);
    if (r.partition_type_guid.is_zero()) continue;
    uint64_t a = r.starting_lba, b = r.ending_lba;
    if (a > b) return fail("partition " + std::to_string(i + 1) + " ends (LBA " + std::to_string(b) + ") before it starts (LBA " + std::to_string(a) + ")");
    if (a < first || b > last)
      return fail("partition " + std::to_string(i + 1) + " (" + lba_range(a, b) + ") lies outside the usable area " + lba_range(first, last));
    spans.push_back({a, b, i + 1});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.a < y.a; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].a <= spans[i - 1].b)
      return fail("partitions " + std::to_string(spans[i - 1].n) + " (" + lba_range(spans[i - 1].a, spans[i - 1].b) + ") and " +
                  std::to_string(spans[i].n) + " (" + lba_range(spans[i].a, spans[i].b) + ") overlap");
  return c;
}

Table to_table(const Copy& c, uint32_t ss, uint64_t disk_sectors) {
  const Header& h = c.header;
  Table t;
  t.sector_size = ss;
  t.disk_sectors = disk_sectors;
  t.disk_guid = h.disk_guid;
  t.first_usable_lba = h.first_usable_lba;
  t.last_usable_lba = h.last_usable_lba;
  t.entry_count = h.number_of_partition_entries;
  t.entry_size = h.size_of_partition_entry;
  for (uint32_t i = 0; i < t.entry_count; ++i) {
    EntryRecord r;
    std::memcpy(&r, c.entries.data() + uint64_t{i} * t.entry_size, sizeof r);
    if (r.partition_type_guid.is_zero()) continue;
    Entry e;
    e.number = i + 1;
    e.type = r.partition_type_guid;
    e.unique = r.unique_partition_guid;
    e.first_lba = r.starting_lba;
    e.last_lba = r.ending_lba;
    e.attributes = r.attributes;
    uint16_t units[kNameUnits];
    for (size_t k = 0; k < kNameUnits; ++k) units[k] = r.partition_name[k];
    e.name = decode_name(units, kNameUnits);
    t.entries.push_back(std::move(e));
  }
  return t;
}

std::string classify_mbr(const ProtectiveMbr& m) {
  if (m.signature != kMbrSignature) return "none";
  bool has_ee = false, has_other = false;
  for (const auto& p : m.partitions) {
    if (p.os_type == kProtectiveType) has_ee = true;
    else if (p.os_type != 0) has_other = true;
  }
  if (!has_ee) return "mbr";
  return has_other ? "hybrid" : "protective";
}

}  // namespace

ReadResult read_table(const ReadAt& fd, uint64_t device_size, uint32_t ss) {
  ReadResult r;
  if (ss < 512 || ss > 65536 || (ss & (ss - 1)) != 0) {
    r.primary_error = r.backup_error = "logical sector size " + std::to_string(ss) + " is not a power of two in [512, 65536]";
    return r;
  }
  uint64_t disk_sectors = device_size / ss;
  if (disk_sectors < 6) {
    r.primary_error = r.backup_error = "device of " + std::to_string(device_size) + " bytes is too small for a GPT";
    return r;
  }
  ProtectiveMbr mbr;
  if (fd.pread_some(&mbr, sizeof mbr, 0) == sizeof mbr) r.mbr_kind = classify_mbr(mbr);

  std::optional<Copy> primary = read_copy(fd, 1, true, disk_sectors, ss, r.primary_error);
  uint64_t last_lba = disk_sectors - 1;
  uint64_t backup_lba = primary ? primary->header.alternate_lba.get() : last_lba;
  std::optional<Copy> backup = read_copy(fd, backup_lba, false, disk_sectors, ss, r.backup_error);
  if (!backup && backup_lba != last_lba) {
    std::string err2;
    backup = read_copy(fd, last_lba, false, disk_sectors, ss, err2);
    if (backup) { backup_lba = last_lba; r.backup_error.clear(); }
  }
  if (primary && backup) {
    const Header &p = primary->header, &b = backup->header;
    std::string diff;
    if (p.disk_guid != b.disk_guid) diff = "disk GUID";
    else if (p.first_usable_lba != b.first_usable_lba || p.last_usable_lba != b.last_usable_lba) diff = "usable area";
    else if (p.number_of_partition_entries != b.number_of_partition_entries || p.size_of_partition_entry != b.size_of_partition_entry) diff = "entry array geometry";
    else if (primary->entries != backup->entries) diff = "partition entries";
    if (!diff.empty()) {
      r.backup_error = "backup GPT at LBA " + std::to_string(backup_lba) + " is valid but differs from the primary (" + diff + ")";
      backup.reset();
    }
  }
  r.primary_ok = primary.has_value();
  r.backup_ok = backup.has_value();
  const Copy* good = primary ? &*primary : backup ? &*backup : nullptr;
  if (!good) return r;
  Table t = to_table(*good, ss, disk_sectors);
  uint64_t array_sectors = t.entry_array_sectors();
  // Without a primary, rebuild it at the default location (read_copy checked that it fits).
  t.entries_lba = primary ? primary->header.partition_entry_lba.get() : 2;
  if (backup) {
    t.backup_header_lba = backup_lba;
    t.backup_entries_lba = backup->header.partition_entry_lba;
  } else {
    t.backup_header_lba = primary ? primary->header.alternate_lba.get() : last_lba;
    t.backup_entries_lba = t.backup_header_lba - array_sectors;
  }
  if (t.backup_header_lba != last_lba)
    r.warnings.push_back("backup GPT header is at LBA " + std::to_string(t.backup_header_lba) + ", not at the last LBA " +
                         std::to_string(last_lba) + " (the device grew?)");
  if (r.mbr_kind != "protective" && r.mbr_kind != "hybrid")
    r.warnings.push_back("LBA 0 holds no protective MBR (" + r.mbr_kind + ")");
  r.table = std::move(t);
  return r;
}

}  // namespace mos::gpt
