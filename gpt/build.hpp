// Editing a GPT model: new empty table, add / delete / resize entries. Every edit is validated
// against the usable area and the other entries before the model changes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "gpt/table.hpp"

namespace mos::gpt {

// A fresh table for a device: 128 entries of 128 bytes at LBA 2, backup at the end, random
// disk GUID. Throws a validation error if the device is too small to hold one.
Table new_table(uint64_t device_size, uint32_t sector_size, uint32_t entry_count = 128);

struct NewPartition {
  Guid type;
  std::optional<Guid> unique;  // random when absent
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;  // inclusive
  uint64_t attributes = 0;
  std::string name;  // UTF-8, at most 36 UTF-16 units
  std::optional<uint32_t> number;  // slot; the lowest free one when absent
};

// Adds an entry and returns its number (1-based slot).
uint32_t add_partition(Table& t, const NewPartition& p);
void delete_partition(Table& t, uint32_t number);
void resize_partition(Table& t, uint32_t number, uint64_t new_last_lba);

// Throws unless [first, last] is inside the usable area and overlaps no entry other than `ignore`.
void check_range(const Table& t, uint64_t first_lba, uint64_t last_lba, uint32_t ignore_number = 0);

}  // namespace mos::gpt
