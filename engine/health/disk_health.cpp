#include "engine/health/disk_health.hpp"

#include <fcntl.h>

#include "engine/inventory/devices.hpp"
#include "ioctl/block_open.hpp"
#include "ioctl/nvme.hpp"
#include "ioctl/sg_ata.hpp"

namespace mos::engine::health {
namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Temperature from the ATA attributes: 194 (or 190), the low byte of the raw value in °C.
std::optional<int> ata_temperature(const AtaSmartData& d) {
  for (uint8_t id : {194, 190}) {
    for (const auto& a : d.attributes) {
      if (a.id == id && (a.raw & 0xFF) > 0 && (a.raw & 0xFF) < 150) return static_cast<int>(a.raw & 0xFF);
    }
  }
  return std::nullopt;
}

void read_nvme(DiskHealth& h, const io::Fd& fd) {
  h.transport = "nvme";
  auto page = io::nvme_smart_log(fd);
  auto log = page ? parse_nvme_health(*page) : std::nullopt;
  if (!log) {
    h.verdict = unknown_verdict("the NVMe controller returned no SMART / Health log");
    return;
  }
  h.nvme = *log;
  h.verdict = judge_nvme(*log);
  if (log->temperature_kelvin > 0) h.temperature_celsius = static_cast<int>(log->temperature_kelvin) - 273;
  h.percentage_used = log->percentage_used;
}

void read_ata(DiskHealth& h, const io::Fd& fd, bool wake) {
  auto power = io::ata_check_power_mode(fd);
  if (!power) {
    h.verdict = unknown_verdict("the disk answers no ATA SMART commands");
    return;
  }
  h.transport = "ata";
  if (*power == io::AtaPowerMode::standby && !wake) {
    h.verdict = unknown_verdict("asleep");
    return;
  }
  auto data = io::ata_smart_read_data(fd);
  if (!data) {
    h.verdict = unknown_verdict("SMART READ DATA failed (SMART disabled or unsupported)");
    return;
  }
  auto thresholds = io::ata_smart_read_thresholds(fd);
  auto parsed = parse_ata_smart(*data, thresholds ? std::span<const uint8_t>(*thresholds) : std::span<const uint8_t>{});
  h.ata_threshold_exceeded = io::ata_smart_threshold_exceeded(fd);
  std::optional<AtaOverall> overall;
  if (h.ata_threshold_exceeded) overall = *h.ata_threshold_exceeded ? AtaOverall::threshold_exceeded : AtaOverall::passed;
  h.verdict = judge_ata(*parsed, overall);
  if (!thresholds) h.verdict.reasons.push_back("SMART READ THRESHOLDS failed: thresholds not judged");
  h.temperature_celsius = ata_temperature(*parsed);
  h.ata = std::move(*parsed);
}

json attribute_json(const AtaAttribute& a) {
  return {{"id", a.id},
          {"name", a.name.empty() ? json(nullptr) : json(a.name)},
          {"flags", a.flags},
          {"prefailure", a.prefailure},
          {"current", a.current},
          {"worst", a.worst},
          {"threshold", a.threshold},
          {"raw", a.raw},
          {"failing_now", failing_now(a)},
          {"failed_in_past", failed_in_past(a) && !failing_now(a)}};
}

json nvme_json(const NvmeHealth& n) {
  return {{"critical_warning", n.critical_warning},
          {"temperature_kelvin", n.temperature_kelvin},
          {"available_spare", n.available_spare},
          {"available_spare_threshold", n.available_spare_threshold},
          {"percentage_used", n.percentage_used},
          {"data_units_read", n.data_units_read},
          {"data_units_written", n.data_units_written},
          {"host_read_commands", n.host_read_commands},
          {"host_write_commands", n.host_write_commands},
          {"controller_busy_minutes", n.controller_busy_minutes},
          {"power_cycles", n.power_cycles},
          {"power_on_hours", n.power_on_hours},
          {"unsafe_shutdowns", n.unsafe_shutdowns},
          {"media_errors", n.media_errors},
          {"error_log_entries", n.error_log_entries}};
}

}  // namespace

std::optional<std::string> no_smart_reason(const std::string& kernel_name, const std::string& kind) {
  if (kind == "loop") return "loop devices carry no SMART data";
  if (kind == "md") return "md arrays carry no SMART data (ask their member disks)";
  if (kind == "dm") return "device-mapper devices carry no SMART data (ask the disks below)";
  if (kind == "zram") return "zram devices carry no SMART data";
  if (kind == "rom") return "optical drives are not judged";
  if (starts_with(kernel_name, "vd")) return "virtio disks carry no SMART data";
  if (starts_with(kernel_name, "xvd")) return "Xen virtual disks carry no SMART data";
  if (starts_with(kernel_name, "nvme") || starts_with(kernel_name, "sd")) return std::nullopt;
  return "no SMART interface for this kind of disk";
}

DiskHealth read_disk_health(const std::string& request, const Policy& policy, bool wake) {
  std::string path = policy.judge(request, Access::read);
  Device dev = find_device(path, DiscoverOptions(false));
  if (dev.kind == "partition" && dev.parent) {
    path = policy.judge(*dev.parent, Access::read);
    dev = find_device(path, DiscoverOptions(false));
  }
  DiskHealth h;
  h.disk = dev.path;
  h.transport = "none";
  if (auto reason = no_smart_reason(dev.name, dev.kind)) {
    h.verdict = unknown_verdict(*reason);
    return h;
  }
  // O_NONBLOCK: opening must not wait for media (a removable reader without a card).
  io::Fd fd = io::open_block(dev.path, O_RDONLY | O_NONBLOCK);
  if (starts_with(dev.name, "nvme")) read_nvme(h, fd);
  else read_ata(h, fd, wake);
  return h;
}

json to_json(const DiskHealth& h) {
  json j = {{"disk", h.disk},
            {"transport", h.transport},
            {"status", to_string(h.verdict.status)},
            {"reasons", h.verdict.reasons},
            {"temperature_celsius", h.temperature_celsius},
            {"percentage_used", h.percentage_used},
            {"smart_threshold_exceeded", h.ata_threshold_exceeded},
            {"attributes", nullptr},
            {"nvme", nullptr}};
  if (h.ata) {
    json list = json::array();
    for (const auto& a : h.ata->attributes) list.push_back(attribute_json(a));
    j["attributes"] = std::move(list);
  }
  if (h.nvme) j["nvme"] = nvme_json(*h.nvme);
  return j;
}

}  // namespace mos::engine::health
