#include "engine/health/nvme_health.hpp"

#include <cstring>
#include <limits>

#include "base/bytes.hpp"

namespace mos::engine::health {
namespace {

struct [[gnu::packed]] Le128 {
  le64 low;
  le64 high;
  uint64_t saturated() const {
    return high.get() != 0 ? std::numeric_limits<uint64_t>::max() : low.get();
  }
};

struct [[gnu::packed]] RawHealthLog {
  uint8_t critical_warning;
  le16 composite_temperature;
  uint8_t available_spare;
  uint8_t available_spare_threshold;
  uint8_t percentage_used;
  uint8_t endurance_group_warning;
  uint8_t reserved1[25];
  Le128 data_units_read;
  Le128 data_units_written;
  Le128 host_read_commands;
  Le128 host_write_commands;
  Le128 controller_busy_time;
  Le128 power_cycles;
  Le128 power_on_hours;
  Le128 unsafe_shutdowns;
  Le128 media_errors;
  Le128 error_log_entries;
  uint8_t rest[320];
};
static_assert(sizeof(RawHealthLog) == kNvmeHealthLogSize);
static_assert(offsetof(RawHealthLog, data_units_read) == 32);
static_assert(offsetof(RawHealthLog, error_log_entries) == 176);

}  // namespace

std::optional<NvmeHealth> parse_nvme_health(std::span<const uint8_t> page) {
  if (page.size() < kNvmeHealthLogSize) return std::nullopt;
  RawHealthLog raw;
  std::memcpy(&raw, page.data(), sizeof(raw));
  NvmeHealth h;
  h.critical_warning = raw.critical_warning;
  h.temperature_kelvin = raw.composite_temperature.get();
  h.available_spare = raw.available_spare;
  h.available_spare_threshold = raw.available_spare_threshold;
  h.percentage_used = raw.percentage_used;
  h.data_units_read = raw.data_units_read.saturated();
  h.data_units_written = raw.data_units_written.saturated();
  h.host_read_commands = raw.host_read_commands.saturated();
  h.host_write_commands = raw.host_write_commands.saturated();
  h.controller_busy_minutes = raw.controller_busy_time.saturated();
  h.power_cycles = raw.power_cycles.saturated();
  h.power_on_hours = raw.power_on_hours.saturated();
  h.unsafe_shutdowns = raw.unsafe_shutdowns.saturated();
  h.media_errors = raw.media_errors.saturated();
  h.error_log_entries = raw.error_log_entries.saturated();
  return h;
}

}  // namespace mos::engine::health
