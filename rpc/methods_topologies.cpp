// storage.feasible_topologies: the seed's storage templates judged against the free disks and
// the running kernel (engine/sysvol/topologies.hpp).
#include "engine/sysvol/topologies.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

void register_topology_methods(Registry& r) {
  json topology = {{"type", "object"},
                   {"properties",
                    {{"name", {{"type", "string"},
                               {"enum", {"BtrfsSingle", "BcachefsSingle", "DualIndependent", "SsdHddBcachefs",
                                         "Bcachefs2Copy", "BtrfsRaid1"}}}},
                     {"description", plain("string")},
                     {"min_disks", plain("integer")},
                     {"feasible", plain("boolean")},
                     {"disks", strings()},
                     {"usable_bytes", plain("integer")},
                     {"reasons", strings()}}}};
  json candidate = {{"type", "object"},
                    {"properties",
                     {{"path", plain("string")},
                      {"size_bytes", plain("integer")},
                      {"media", {{"type", "string"}, {"enum", {"nvme", "ssd", "hdd"}}}}}}};
  json refused = {{"type", "object"}, {"properties", {{"path", plain("string")}, {"reason", plain("string")}}}};
  json result = {{"type", "object"},
                 {"properties",
                  {{"topologies", {{"type", "array"}, {"items", topology}}},
                   {"candidates", {{"type", "array"}, {"items", candidate}, {"description", "free disks, largest first"}}},
                   {"not_candidates", {{"type", "array"}, {"items", refused}}},
                   {"kernel", {{"type", "object"},
                               {"properties", {{"btrfs", plain("boolean")}, {"bcachefs", plain("boolean")}}}}}}}};
  r.add(Method{"storage.feasible_topologies", "Which topology templates work with the current free disks",
               "Judges BtrfsSingle, BcachefsSingle, DualIndependent, SsdHddBcachefs, Bcachefs2Copy and BtrfsRaid1 "
               "against the disks mos_sysvol would accept as blank (whole, not removable/read-only/system, nothing "
               "on them, big enough for the MOS layout), their class (ssd/hdd from the rotational flag, nvme) and "
               "the running kernel (/proc/filesystems, modules.dep). Each answer says feasible, the disks it would "
               "use and why.",
               obj_schema(json::object()), result, false,
               [](const json&, engine::Context& ctx) { return json(engine::feasible_topologies(ctx)); }});
}

}  // namespace mos::rpc
