// storage.list_disks / list_partitions / list_filesystems / list_mounts / inventory.
#include "engine/inventory.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

void register_inventory_methods(Registry& r) {
  auto array_of = [](json items, const std::string& desc) {
    return json{{"type", "array"}, {"items", std::move(items)}, {"description", desc}};
  };
  r.add(Method{"storage.list_disks", "All block devices that are not partitions (disks, loop, md, dm, zram)",
               "Each device carries the full device object; attached loop devices only (size > 0).",
               obj_schema(json::object()), array_of(device_schema(), "devices"), false,
               [](const json&, engine::Context&) { return json(engine::list_disks(engine::discover_devices())); }});
  r.add(Method{"storage.list_partitions", "All partitions with label, UUID, type and filesystem", "",
               obj_schema(json::object()), array_of(device_schema(), "partitions"), false,
               [](const json&, engine::Context&) {
                 return json(engine::list_partitions(engine::discover_devices()));
               }});
  r.add(Method{"storage.list_filesystems", "Every device carrying a filesystem or swap; MOS labels flagged",
               "MOS labels are MOSEFI, MOSBOOT, MOSSWAP and MOSDATA (mos=true, mos_role efi/boot/swap/data).",
               obj_schema(json::object()), array_of(filesystem_schema(), "filesystems"), false,
               [](const json&, engine::Context&) {
                 return json(engine::list_filesystems(engine::discover_devices()));
               }});
  r.add(Method{"storage.list_mounts", "Mounted block-device filesystems", "",
               obj_schema(json::object()), array_of(mount_schema(), "mounts"), false,
               [](const json&, engine::Context&) { return json(engine::list_mounts(engine::discover_devices())); }});
  r.add(Method{"storage.inventory", "Disks, partitions, filesystems, mounts and md arrays in one reply", "",
               obj_schema(json::object()),
               {{"type", "object"},
                {"properties",
                 {{"disks", array_of(device_schema(), "disks")},
                  {"partitions", array_of(device_schema(), "partitions")},
                  {"filesystems", array_of(filesystem_schema(), "filesystems")},
                  {"mounts", array_of(mount_schema(), "mounts")},
                  {"raids", array_of(raid_schema(), "md arrays")}}}},
               false, [](const json&, engine::Context&) { return json(engine::inventory()); }});
}

}  // namespace mos::rpc
