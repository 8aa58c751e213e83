// The in-memory GPT model the parser produces and the builder edits: plain values, no raw bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gpt/guid.hpp"

namespace mos::gpt {

struct Entry {
  uint32_t number = 0;  // 1-based slot index in the entry array (= kernel partition number)
  Guid type;
  Guid unique;
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;  // inclusive
  uint64_t attributes = 0;
  std::string name;  // UTF-8

  uint64_t sectors() const { return last_lba - first_lba + 1; }
};

struct Table {
  uint32_t sector_size = 512;
  uint64_t disk_sectors = 0;  // device size / sector size at read or build time
  Guid disk_guid;
  uint64_t first_usable_lba = 0;
  uint64_t last_usable_lba = 0;
  uint32_t entry_count = 128;
  uint32_t entry_size = 128;
  uint64_t entries_lba = 2;         // primary entry array
  uint64_t backup_entries_lba = 0;  // backup entry array (just before the backup header)
  uint64_t backup_header_lba = 0;   // normally disk_sectors - 1
  std::vector<Entry> entries;       // used slots only, sorted by number

  uint64_t entry_array_bytes() const { return uint64_t{entry_count} * entry_size; }
  uint64_t entry_array_sectors() const { return (entry_array_bytes() + sector_size - 1) / sector_size; }
  const Entry* find(uint32_t number) const;
  Entry* find(uint32_t number);
};

}  // namespace mos::gpt
