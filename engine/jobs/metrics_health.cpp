#include "engine/jobs/metrics_health.hpp"

#include "engine/health/health_cache.hpp"

namespace mos::engine {
namespace {

using health::Status;

void declare_families(MetricsText& out) {
  out.family("mos_disk_health_status", "gauge",
             "Disk health verdict as a state set: 1 for the disk's status (ok, warning, failing, unknown), 0 for the others");
  out.family("mos_disk_health_checked_timestamp_seconds", "gauge", "Unix time of the disk's last health read");
  out.family("mos_disk_temperature_celsius", "gauge", "Disk temperature (NVMe composite, ATA attribute 194 or 190)");
  out.family("mos_disk_percentage_used", "gauge", "NVMe percentage used: the vendor's estimate of life used (may exceed 100)");
  out.family("mos_disk_available_spare_percent", "gauge", "NVMe available spare");
  out.family("mos_disk_available_spare_threshold_percent", "gauge", "NVMe available spare threshold");
  out.family("mos_disk_media_errors_total", "counter", "NVMe media and data integrity errors");
  out.family("mos_disk_error_log_entries_total", "counter", "NVMe error information log entries");
  out.family("mos_disk_ata_sectors", "gauge",
             "ATA raw values of attribute 5 (kind reallocated), 197 (pending) and 198 (offline_uncorrectable)");
}

const char* bad_sector_kind(uint8_t id) {
  switch (id) {
    case 5: return "reallocated";
    case 197: return "pending";
    case 198: return "offline_uncorrectable";
  }
  return nullptr;
}

void disk_samples(const health::CachedHealth& e, MetricsText& out) {
  const health::DiskHealth& h = e.health;
  const MetricsText::Labels disk{{"disk", h.disk}};
  for (Status s : {Status::ok, Status::warning, Status::failing, Status::unknown})
    out.sample("mos_disk_health_status", {{"disk", h.disk}, {"status", health::to_string(s)}},
               h.verdict.status == s ? 1 : 0);
  out.sample("mos_disk_health_checked_timestamp_seconds", disk, static_cast<double>(*e.checked_at));
  if (h.temperature_celsius) out.sample("mos_disk_temperature_celsius", disk, *h.temperature_celsius);
  if (h.nvme) {
    out.sample("mos_disk_percentage_used", disk, h.nvme->percentage_used);
    out.sample("mos_disk_available_spare_percent", disk, h.nvme->available_spare);
    out.sample("mos_disk_available_spare_threshold_percent", disk, h.nvme->available_spare_threshold);
    out.sample("mos_disk_media_errors_total", disk, static_cast<double>(h.nvme->media_errors));
    out.sample("mos_disk_error_log_entries_total", disk, static_cast<double>(h.nvme->error_log_entries));
  }
  if (h.ata)
    for (const auto& a : h.ata->attributes)
      if (const char* kind = bad_sector_kind(a.id))
        out.sample("mos_disk_ata_sectors", {{"disk", h.disk}, {"kind", kind}}, static_cast<double>(a.raw));
}

}  // namespace

void health_metrics(const health::HealthCache* cache, const Policy& policy, MetricsText& out) {
  if (!cache) return;
  declare_families(out);
  for (const auto& e : cache->entries())
    if (e.checked_at && policy.allowed(e.health.disk)) disk_samples(e, out);
}

}  // namespace mos::engine
