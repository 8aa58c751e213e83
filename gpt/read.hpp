// GPT reader: validates protective MBR, both headers and both entry arrays, and says which
// copy is good. Never trusts an on-disk size or count without checking it against bounds.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gpt/table.hpp"
#include "base/read_at.hpp"

namespace mos::gpt {

struct ReadResult {
  std::optional<Table> table;  // from the primary if it is good, else from the backup
  bool primary_ok = false;
  bool backup_ok = false;
  std::string primary_error;  // why the primary copy is unusable ("" when ok)
  std::string backup_error;
  // "protective", "hybrid" (0xEE plus other records), "none" (no 0xAA55) or "mbr" (a plain
  // MBR without a 0xEE record — the disk is not GPT to firmware).
  std::string mbr_kind;
  std::vector<std::string> warnings;  // valid but unusual, e.g. backup not at the last LBA
};

// Upper bounds for on-disk values, far above anything real tools write (sgdisk allows a few
// thousand entries) but small enough that a corrupted count cannot make us allocate gigabytes.
constexpr uint32_t kMaxEntryCount = 16384;
constexpr uint32_t kMaxEntrySize = 4096;
constexpr uint64_t kMaxEntryArrayBytes = 4ull << 20;

ReadResult read_table(const ReadAt& fd, uint64_t device_size, uint32_t sector_size);

// zlib crc32 (the CRC GPT uses) over a buffer.
uint32_t gpt_crc32(const void* data, size_t len);

}  // namespace mos::gpt
