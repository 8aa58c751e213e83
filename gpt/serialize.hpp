// GPT model → bytes, as a crash-ordered WritePlan (never writes itself).
#pragma once
#include <cstdint>
#include <vector>

#include "gpt/table.hpp"
#include "base/write_plan.hpp"

namespace mos::gpt {

struct SerializeOptions {
  bool primary = true;
  bool backup = true;
  bool protective_mbr = false;  // rewrite LBA 0 (new tables, repairs); edits keep the existing one
};

// Plan "gpt" with step "backup" (backup entry array + header) then step "primary" (primary
// entry array + header, then the protective MBR when asked).
mos::WritePlan plan_table_write(const Table& t, const SerializeOptions& opt = {});

std::vector<uint8_t> entry_array_bytes(const Table& t);  // entry_count * entry_size bytes
// One logical block holding the header (primary: at LBA 1; backup: at backup_header_lba).
std::vector<uint8_t> header_block(const Table& t, bool primary, uint32_t entries_crc);
std::vector<uint8_t> protective_mbr_block(uint64_t disk_sectors);

}  // namespace mos::gpt
