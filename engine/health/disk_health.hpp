// storage.disk_health: what one disk says about its health, read through the device policy and
// the one block-device open, judged by verdict.hpp. ATA disks are asked CHECK POWER MODE first so
// a sleeping disk is not spun up (verdict unknown, reason "asleep") unless the caller asks to wake it.
#pragma once
#include <optional>
#include <string>

#include "engine/policy.hpp"
#include "engine/health/ata_smart.hpp"
#include "engine/health/nvme_health.hpp"
#include "engine/health/verdict.hpp"
#include "engine/json.hpp"

namespace mos::engine::health {

struct DiskHealth {
  std::string disk;       // /dev/NAME of the whole disk
  std::string transport;  // ata | nvme | none
  Verdict verdict;
  std::optional<int> temperature_celsius;
  std::optional<unsigned> percentage_used;  // NVMe wear
  std::optional<bool> ata_threshold_exceeded;  // ATA RETURN STATUS
  std::optional<AtaSmartData> ata;
  std::optional<NvmeHealth> nvme;
};

// `request` names a whole disk or a partition (its disk is read). Throws -32001 when the policy
// refuses the device, -32002 when it does not exist.
DiskHealth read_disk_health(const std::string& request, const Policy& policy, bool wake = false);

// The verdict of a device that cannot answer SMART at all, from its kernel name and kind alone
// (loop, md, dm, zram, virtio...), without opening it; nullopt when it has to be asked.
std::optional<std::string> no_smart_reason(const std::string& kernel_name, const std::string& kind);

json to_json(const DiskHealth& h);

}  // namespace mos::engine::health
