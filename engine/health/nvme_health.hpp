// The NVMe SMART / Health Information log page (Get Log Page 0x02, NVMe base spec, 512 bytes),
// parsed from the bytes a controller returned: pure code, bounds-checked, no kernel call.
#pragma once
#include <cstdint>
#include <optional>
#include <span>

namespace mos::engine::health {

inline constexpr size_t kNvmeHealthLogSize = 512;

// Critical warning bits (byte 0).
enum NvmeCriticalWarning : uint8_t {
  kNvmeWarnSpare = 1 << 0,        // available spare below its threshold
  kNvmeWarnTemperature = 1 << 1,  // a temperature beyond a threshold
  kNvmeWarnReliability = 1 << 2,  // NVM subsystem reliability degraded (media or internal errors)
  kNvmeWarnReadOnly = 1 << 3,     // media placed in read-only mode
  kNvmeWarnVolatileBackup = 1 << 4,  // volatile memory backup device failed
  kNvmeWarnPmr = 1 << 5,          // persistent memory region read-only or unreliable
};

// The page's fields; its 128-bit counters saturate to 64 bits (2^64 units is beyond any disk).
struct NvmeHealth {
  uint8_t critical_warning = 0;
  uint16_t temperature_kelvin = 0;  // composite temperature; 0 = not reported
  uint8_t available_spare = 0;      // percent
  uint8_t available_spare_threshold = 0;
  uint8_t percentage_used = 0;      // may exceed 100 (255 = saturated)
  uint64_t data_units_read = 0;     // units of 1000 × 512 bytes
  uint64_t data_units_written = 0;
  uint64_t host_read_commands = 0;
  uint64_t host_write_commands = 0;
  uint64_t controller_busy_minutes = 0;
  uint64_t power_cycles = 0;
  uint64_t power_on_hours = 0;
  uint64_t unsafe_shutdowns = 0;
  uint64_t media_errors = 0;
  uint64_t error_log_entries = 0;
};

inline constexpr uint64_t kNvmeDataUnitBytes = 512000;

// nullopt when fewer than 512 bytes came back.
std::optional<NvmeHealth> parse_nvme_health(std::span<const uint8_t> page);

}  // namespace mos::engine::health
