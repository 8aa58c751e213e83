#include "engine/health/ata_smart.hpp"

#include "base/bytes.hpp"

namespace mos::engine::health {
namespace {

// One entry of the attribute table (data page) and of the thresholds page.
struct [[gnu::packed]] RawAttribute {
  uint8_t id;
  le16 flags;
  uint8_t current;
  uint8_t worst;
  uint8_t raw[6];
  uint8_t reserved;
};
static_assert(sizeof(RawAttribute) == 12);

struct [[gnu::packed]] RawThreshold {
  uint8_t id;
  uint8_t threshold;
  uint8_t reserved[10];
};
static_assert(sizeof(RawThreshold) == 12);

constexpr size_t kTableOffset = 2;
static_assert(kTableOffset + kAtaSmartAttributeSlots * sizeof(RawAttribute) <= kAtaSmartPageSize);

template <typename T>
T entry_at(std::span<const uint8_t> page, size_t slot) {
  T e;
  std::memcpy(&e, page.data() + kTableOffset + slot * sizeof(T), sizeof(T));
  return e;
}

}  // namespace

std::string ata_attribute_name(uint8_t id) {
  switch (id) {
    case 1: return "Raw_Read_Error_Rate";
    case 3: return "Spin_Up_Time";
    case 4: return "Start_Stop_Count";
    case 5: return "Reallocated_Sector_Ct";
    case 7: return "Seek_Error_Rate";
    case 9: return "Power_On_Hours";
    case 10: return "Spin_Retry_Count";
    case 12: return "Power_Cycle_Count";
    case 177: return "Wear_Leveling_Count";
    case 187: return "Reported_Uncorrect";
    case 190: return "Airflow_Temperature_Cel";
    case 194: return "Temperature_Celsius";
    case 196: return "Reallocated_Event_Count";
    case 197: return "Current_Pending_Sector";
    case 198: return "Offline_Uncorrectable";
    case 199: return "UDMA_CRC_Error_Count";
    case 231: return "SSD_Life_Left";
    case 233: return "Media_Wearout_Indicator";
    default: return "";
  }
}

std::optional<AtaSmartData> parse_ata_smart(std::span<const uint8_t> data,
                                            std::span<const uint8_t> thresholds) {
  if (data.size() < kAtaSmartPageSize) return std::nullopt;
  bool have_thresholds = thresholds.size() >= kAtaSmartPageSize;
  AtaSmartData out;
  for (size_t slot = 0; slot < kAtaSmartAttributeSlots; ++slot) {
    auto e = entry_at<RawAttribute>(data, slot);
    if (e.id == 0) continue;
    AtaAttribute a;
    a.id = e.id;
    a.name = ata_attribute_name(e.id);
    a.flags = e.flags.get();
    a.prefailure = (a.flags & 1) != 0;
    a.current = e.current;
    a.worst = e.worst;
    for (size_t i = 0; i < sizeof(e.raw); ++i) a.raw |= uint64_t{e.raw[i]} << (8 * i);
    if (have_thresholds) {
      auto t = entry_at<RawThreshold>(thresholds, slot);
      if (t.id == e.id) a.threshold = t.threshold;
    }
    out.attributes.push_back(std::move(a));
  }
  return out;
}

}  // namespace mos::engine::health
