#include "engine/health/verdict.hpp"

namespace mos::engine::health {
namespace {

int rank(Status s) {
  switch (s) {
    case Status::unknown: return 0;
    case Status::ok: return 1;
    case Status::warning: return 2;
    case Status::failing: return 3;
  }
  return 0;
}

std::string attribute_label(const AtaAttribute& a) {
  return "attribute " + std::to_string(a.id) + (a.name.empty() ? "" : " (" + a.name + ")");
}

// Raw counts of sectors the disk already gave up on or cannot read: any is a warning.
bool is_bad_sector_counter(uint8_t id) { return id == 5 || id == 197 || id == 198; }

}  // namespace

const char* to_string(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::warning: return "warning";
    case Status::failing: return "failing";
    case Status::unknown: return "unknown";
  }
  return "unknown";
}

void Verdict::raise(Status s, std::string reason) {
  if (rank(s) > rank(status)) status = s;
  if (!reason.empty()) reasons.push_back(std::move(reason));
}

Verdict unknown_verdict(std::string reason) {
  Verdict v;
  v.reasons.push_back(std::move(reason));
  return v;
}

// A threshold of 0 means "never fails" (ATA8-ACS); 0xFE/0xFF are "always fail" test values.
bool failing_now(const AtaAttribute& a) { return a.threshold && *a.threshold != 0 && a.current <= *a.threshold; }
bool failed_in_past(const AtaAttribute& a) { return a.threshold && *a.threshold != 0 && a.worst <= *a.threshold; }

Verdict judge_ata(const AtaSmartData& data, std::optional<AtaOverall> overall) {
  Verdict v;
  v.status = Status::ok;
  if (overall == AtaOverall::threshold_exceeded)
    v.raise(Status::failing, "SMART overall status: threshold exceeded");
  for (const auto& a : data.attributes) {
    if (failing_now(a)) {
      bool pre = a.prefailure;
      v.raise(pre ? Status::failing : Status::warning,
              attribute_label(a) + " at or below its threshold (" + std::to_string(a.current) + " <= " +
                  std::to_string(*a.threshold) + (pre ? ", prefailure)" : ", advisory)"));
    } else if (failed_in_past(a)) {
      v.raise(Status::warning, attribute_label(a) + " failed in the past (worst " + std::to_string(a.worst) +
                                   " <= threshold " + std::to_string(*a.threshold) + ")");
    }
    if (is_bad_sector_counter(a.id) && a.raw > 0)
      v.raise(Status::warning, attribute_label(a) + " raw value " + std::to_string(a.raw));
  }
  return v;
}

Verdict judge_nvme(const NvmeHealth& log) {
  Verdict v;
  v.status = Status::ok;
  uint8_t w = log.critical_warning;
  if (w & kNvmeWarnSpare) v.raise(Status::failing, "critical warning: available spare below threshold");
  if (w & kNvmeWarnTemperature) v.raise(Status::warning, "critical warning: temperature beyond a threshold");
  if (w & kNvmeWarnReliability) v.raise(Status::failing, "critical warning: reliability degraded");
  if (w & kNvmeWarnReadOnly) v.raise(Status::failing, "critical warning: media is read-only");
  if (w & kNvmeWarnVolatileBackup) v.raise(Status::failing, "critical warning: volatile memory backup failed");
  if (w & kNvmeWarnPmr) v.raise(Status::failing, "critical warning: persistent memory region unreliable");
  if (log.available_spare < log.available_spare_threshold)
    v.raise(Status::failing, "available spare " + std::to_string(log.available_spare) + "% below threshold " +
                                 std::to_string(log.available_spare_threshold) + "%");
  if (log.percentage_used >= 100)
    v.raise(Status::warning, "percentage used " + std::to_string(log.percentage_used) + "%");
  if (log.media_errors > 0)
    v.raise(Status::warning, "media and data integrity errors: " + std::to_string(log.media_errors));
  return v;
}

}  // namespace mos::engine::health
