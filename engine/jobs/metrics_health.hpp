// The disk health families of storage.metrics, from the poller's cache only (no SMART command):
// the one the daemon's inventory model renders (ctx.inventory->health()).
#pragma once
#include "engine/jobs/metrics.hpp"
#include "engine/policy.hpp"

namespace mos::engine {
namespace health {
class HealthCache;
}

// mos_disk_health_status{disk,status} is a state set: one series per disk and status, 1 for the
// disk's status and 0 for the three others. Then the last check's time, temperature, NVMe
// percentage used / spare / media errors / error-log entries and the ATA bad-sector raw counts,
// each only when the disk reported it. Disks outside the policy or never checked are left out;
// no cache (no poller): no families.
void health_metrics(const health::HealthCache* cache, const Policy& policy, MetricsText& out);

}  // namespace mos::engine
