// The daemon's full method table: one registration call per area.
#include "rpc/registry.hpp"

namespace mos::rpc {

Registry make_registry() {
  Registry r;
  register_inventory_methods(r);
  register_fs_methods(r);
  register_bulk_methods(r);
  register_jobs_methods(r);
  register_partition_methods(r);
  register_btrfs_methods(r);
  register_raid_methods(r);
  register_topology_methods(r);
  register_events_methods(r);
  register_metrics_methods(r);
  register_health_methods(r);
  register_volume_methods(r);
  register_replace_methods(r);
  register_discover_method(r);
  return r;
}

}  // namespace mos::rpc
