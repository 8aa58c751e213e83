// Monitoring in the Prometheus text exposition format (version 0.0.4): what storage.metrics
// returns and node_exporter's textfile collector reads. The engine contributes the storage
// families; callers may add their own (the RPC layer adds request counters).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/context.hpp"

namespace mos::engine {

class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // Declares a family once (HELP and TYPE lines); type is "gauge" or "counter".
  void family(const std::string& name, const std::string& type, const std::string& help);
  // One sample of a declared family; label values are escaped as the format requires.
  void sample(const std::string& name, const Labels& labels, double value);
  std::string text() const;

 private:
  struct Family {
    std::string name, type, help;
    std::vector<std::string> samples;
  };
  std::vector<Family> families_;
  Family& find(const std::string& name);
};

// Filesystem size/used/avail of mounted filesystems on allowed devices, btrfs device error
// counters, seconds since each btrfs's last scrub and its errors, md degraded/sync state, disk
// health from the poller's cache (metrics_health.hpp), jobs by state. A source that cannot be
// read is skipped (its absence is visible), never fatal.
void storage_metrics(const Context& ctx, MetricsText& out);

}  // namespace mos::engine
