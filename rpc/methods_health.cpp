// storage.disk_health: SMART / NVMe health of one disk and its verdict (engine/health/).
#include "engine/health/disk_health.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

json health_schema() {
  json attribute = {{"type", "object"},
                    {"properties",
                     {{"id", plain("integer")},
                      {"name", nullable("string")},
                      {"flags", plain("integer")},
                      {"prefailure", plain("boolean")},
                      {"current", plain("integer")},
                      {"worst", plain("integer")},
                      {"threshold", nullable("integer")},
                      {"raw", plain("integer")},
                      {"failing_now", plain("boolean")},
                      {"failed_in_past", plain("boolean")}}}};
  return {{"type", "object"},
          {"properties",
           {{"disk", plain("string")},
            {"transport", {{"type", "string"}, {"description", "ata | nvme | none"}}},
            {"status", {{"type", "string"}, {"enum", {"ok", "warning", "failing", "unknown"}}}},
            {"reasons", {{"type", "array"}, {"items", plain("string")}, {"description", "why it is not ok, or why unknown"}}},
            {"temperature_celsius", nullable("integer")},
            {"percentage_used", nullable("integer")},
            {"smart_threshold_exceeded", nullable("boolean")},
            {"attributes", {{"type", {"array", "null"}}, {"items", attribute}, {"description", "ATA SMART attributes"}}},
            {"nvme", {{"type", {"object", "null"}}, {"description", "NVMe SMART / Health log fields"}}}}}};
}

void register_health_methods(Registry& r) {
  r.add(Method{"storage.disk_health", "SMART (ATA) or SMART / Health log (NVMe) of one disk, with a verdict",
               "status ok | warning | failing | unknown with reasons (rules: engine/health/README.md). A partition "
               "names its disk. Loop, md, dm, zram and virtio devices answer unknown with the reason. An ATA disk in "
               "standby answers unknown (reason \"asleep\") unless wake is true: CHECK POWER MODE is asked first. "
               "Readable by every caller (SMART data is metadata).",
               obj_schema({{"disk", path_schema("the disk (or a partition of it)")},
                           {"wake", bool_schema("read SMART even from a disk in standby (spins it up)")}},
                          {"disk"}),
               health_schema(), false, [](const json& p, engine::Context& ctx) {
                 bool wake = p.contains("wake") && p["wake"].get<bool>();
                 return engine::health::to_json(engine::health::read_disk_health(p["disk"].get<std::string>(), ctx.policy, wake));
               }});
}

}  // namespace mos::rpc
