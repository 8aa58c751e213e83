// storage.list_disks / list_partitions / list_filesystems / list_mounts / inventory. In the
// daemon they answer from the in-memory model (ctx.inventory); without one (tests, tools) they scan.
#include "engine/health/health_cache.hpp"
#include "engine/inventory/inventory.hpp"
#include "engine/inventory/cache.hpp"
#include "rpc/call.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

using Render = std::string engine::InventorySnapshot::*;

// One query: the pre-rendered part of the model (kept alive by the reply), or a direct scan
// when there is no model.
std::function<std::shared_ptr<const std::string>(const json&, engine::Context&)> query(Render part) {
  return [part](const json&, engine::Context& ctx) -> std::shared_ptr<const std::string> {
    if (ctx.inventory) {
      // On the I/O thread the server has just found the model fresh: no settling (may probe).
      auto snap = current_call().model ? current_call().model : ctx.inventory->snapshot();
      return std::shared_ptr<const std::string>(snap, &((*snap).*part));
    }
    auto all = engine::discover_devices();
    json result;
    if (part == &engine::InventorySnapshot::disks) result = engine::list_disks(all);
    else if (part == &engine::InventorySnapshot::partitions) result = engine::list_partitions(all);
    else if (part == &engine::InventorySnapshot::filesystems) result = engine::list_filesystems(all);
    else if (part == &engine::InventorySnapshot::mounts) result = engine::list_mounts(all);
    else result = engine::inventory_of(all);
    // A direct scan has no poller behind it: health null (the daemon's model carries it).
    if (part == &engine::InventorySnapshot::disks) engine::health::add_health(result, nullptr);
    if (part == &engine::InventorySnapshot::all) engine::health::add_health(result["disks"], nullptr);
    return std::make_shared<const std::string>(engine::json_text(result));
  };
}

// A disk: the device object and the poller's last verdict (storage.disk_health asks the disk now).
json disk_schema() {
  json s = device_schema();
  s["properties"]["health"] = {
      {"type", {"object", "null"}},
      {"description",
       "the --health-interval poller's last verdict: status ok | warning | failing | unknown, reasons, checked_at "
       "(unix seconds; null and reason \"not checked yet\" before the poller reached the disk); null without the "
       "daemon's model"},
      {"properties",
       {{"status", {{"type", "string"}, {"enum", {"ok", "warning", "failing", "unknown"}}}},
        {"reasons", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"checked_at", {{"type", {"integer", "null"}}}}}}};
  return s;
}

json subvolumes_schema() {
  return {{"type", "object"},
          {"description", "subvolumes of one mounted btrfs filesystem (listed through mounted_at)"},
          {"properties",
           {{"fsid", {{"type", "string"}}},
            {"label", {{"type", {"string", "null"}}}},
            {"device", {{"type", "string"}}},
            {"mounted_at", {{"type", "string"}}},
            {"mos", {{"type", "boolean"}, {"description", "label is MOSDATA"}}},
            {"subvolumes", {{"type", "array"}, {"items", {{"type", "object"}}}}},
            {"error", {{"type", {"string", "null"}}, {"description", "why listing failed"}}}}}};
}

// Method{...} positional fields end at handler: the query goes into `serialized`.
void add_serialized(Registry& r, Method m, std::function<std::shared_ptr<const std::string>(const json&, engine::Context&)> q) {
  m.serialized = std::move(q);
  m.path = Path::model;  // answered on the daemon's I/O thread while the model is fresh
  r.add(std::move(m));
}

}  // namespace

void register_inventory_methods(Registry& r) {
  using S = engine::InventorySnapshot;
  auto array_of = [](json items, const std::string& desc) {
    return json{{"type", "array"}, {"items", std::move(items)}, {"description", desc}};
  };
  add_serialized(r, Method{"storage.list_disks", "All block devices that are not partitions (disks, loop, md, dm, zram)",
               "Each device carries the full device object and its health from the daemon's poller; attached loop "
               "devices only (size > 0).",
               obj_schema(json::object()), array_of(disk_schema(), "devices"), false, nullptr}, query(&S::disks));
  add_serialized(r, Method{"storage.list_partitions", "All partitions with label, UUID, type and filesystem", "",
               obj_schema(json::object()), array_of(device_schema(), "partitions"), false, nullptr}, query(&S::partitions));
  add_serialized(r, Method{"storage.list_filesystems", "Every device carrying a filesystem or swap; MOS labels flagged",
               "MOS labels are MOSEFI, MOSBOOT, MOSSWAP and MOSDATA (mos=true, mos_role efi/boot/swap/data).",
               obj_schema(json::object()), array_of(filesystem_schema(), "filesystems"), false, nullptr},
               query(&S::filesystems));
  add_serialized(r, Method{"storage.list_mounts", "Mounted block-device filesystems", "", obj_schema(json::object()),
               array_of(mount_schema(), "mounts"), false, nullptr}, query(&S::mounts));
  add_serialized(r, Method{"storage.inventory",
               "Disks, partitions, filesystems, mounts, md arrays and btrfs subvolumes in one reply",
               "The daemon answers from its in-memory model, kept fresh by block uevents, mount table "
               "changes, its own operations and a re-probe of every device every 2 s (changes nobody "
               "announces, such as another tool's mkfs on a machine without udev). Each disk's health is the last "
               "verdict of the --health-interval poller (no SMART command is sent by this call).",
               obj_schema(json::object()),
               {{"type", "object"},
                {"properties",
                 {{"disks", array_of(disk_schema(), "disks")},
                  {"partitions", array_of(device_schema(), "partitions")},
                  {"filesystems", array_of(filesystem_schema(), "filesystems")},
                  {"mounts", array_of(mount_schema(), "mounts")},
                  {"raids", array_of(raid_schema(), "md arrays")},
                  {"subvolumes", array_of(subvolumes_schema(), "btrfs subvolumes per mounted filesystem")}}}},
               false, nullptr}, query(&S::all));
}

}  // namespace mos::rpc
