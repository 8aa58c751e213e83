// The replacement record: the new disk's own proof that a disk replacement is unfinished. Every
// partition the replacement fills (mosefi, mosboot, mosswap, mosdata) is written with this GPT
// attribute bit set, and it is cleared for a partition once its step is proven done on the disks.
// Bit 50 of the type-specific range (48-63): apart from mos_sysvol's first-boot record (48, 49,
// engine/sysvol/record.hpp), so a boot never mistakes a replacement for an unfinished first boot.
#pragma once
#include <cstdint>

#include "gpt/table.hpp"

namespace mos::engine::replace {

inline constexpr uint64_t kReplacePendingBit = 1ull << 50;

// Whether any partition of the table carries the replacement record.
inline bool has_replace_record(const gpt::Table& t) {
  for (const auto& e : t.entries)
    if (e.attributes & kReplacePendingBit) return true;
  return false;
}

}  // namespace mos::engine::replace
