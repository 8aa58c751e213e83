// storage.metrics: the Prometheus text exposition of storage state, jobs and RPC requests.
#include "engine/jobs/metrics.hpp"
#include "rpc/registry.hpp"
#include "rpc/request_stats.hpp"

namespace mos::rpc {

void register_metrics_methods(Registry& r) {
  r.add(Method{"storage.metrics", "Metrics in the Prometheus text exposition format (0.0.4)",
               "Filesystem size/used/avail, btrfs device errors, seconds since the last scrub and its errors, md "
               "degraded/sync state, disk health (mos_disk_health_status state set, temperature, wear, error "
               "counters; from the --health-interval poller's cache), jobs by state, RPC requests by method and outcome. The result is one string, "
               "usable by node_exporter's textfile collector.",
               obj_schema(json::object()), {{"type", "string"}}, false, [](const json&, engine::Context& ctx) -> json {
                 engine::MetricsText out;
                 engine::storage_metrics(ctx, out);
                 out.family("mos_rpc_requests_total", "counter",
                            "Answered JSON-RPC calls by method and outcome (code 0 = success)");
                 for (const auto& c : request_counts())
                   out.sample("mos_rpc_requests_total",
                              {{"method", c.method}, {"code", std::to_string(c.code)},
                               {"outcome", c.code == 0 ? "success" : "error"}},
                              static_cast<double>(c.count));
                 return out.text();
               }});
}

}  // namespace mos::rpc
