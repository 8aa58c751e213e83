// The ATA SMART READ DATA page and the READ THRESHOLDS page (ATA8-ACS, 512 bytes each), parsed
// from bytes a disk returned: pure code, bounds-checked, no kernel call. The attribute table is 30
// entries of 12 bytes from offset 2 (id 0 = empty slot); the thresholds page has the same layout
// with the threshold in byte 1 of each entry.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace mos::engine::health {

inline constexpr size_t kAtaSmartPageSize = 512;
inline constexpr size_t kAtaSmartAttributeSlots = 30;

struct AtaAttribute {
  uint8_t id = 0;
  std::string name;       // the common name of the id ("" when the id is not a common one)
  uint16_t flags = 0;
  bool prefailure = false;  // flags bit 0: a value at or below threshold predicts failure
  uint8_t current = 0;      // normalised value (1..253 by convention; hostile bytes may say 0)
  uint8_t worst = 0;
  std::optional<uint8_t> threshold;  // from the thresholds page, when it was read and matched
  uint64_t raw = 0;         // the 48-bit raw value (bytes 5..10, little-endian)
};

struct AtaSmartData {
  std::vector<AtaAttribute> attributes;  // the non-empty slots, in table order
};

// Parses the data page, and the thresholds page when given (a threshold entry counts only when its
// id equals the data entry's id in the same slot, as smartctl matches them). Shorter input than
// 512 bytes is refused (nullopt): a truncated page is no page.
std::optional<AtaSmartData> parse_ata_smart(std::span<const uint8_t> data,
                                            std::span<const uint8_t> thresholds = {});

// "Reallocated_Sector_Ct" and the like for the ids most disks share, "" for the rest.
std::string ata_attribute_name(uint8_t id);

}  // namespace mos::engine::health
