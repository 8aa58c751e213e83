// storage.list_free_space / create_partition_table / create_partition / delete_partition /
// resize_partition / wipe_signatures / repair_partition_table / read_partition_table.
#include "engine/partition/partition.hpp"
#include "engine/partition/json.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

namespace {

json device_path_schema(const std::string& description) {
  return {{"type", "string"}, {"pattern", "^/dev/[A-Za-z0-9._:+/-]+$"}, {"maxLength", 255}, {"description", description}};
}

json dry_run_schema() { return bool_schema("return the exact plan (byte ranges, kernel calls) and write nothing"); }

// A table edit's result: its write plan, the kernel calls, notes.
json operation_schema() {
  json call = {{"type", "object"},
               {"properties",
                {{"op", {{"type", "string"}, {"enum", {"blkpg_add", "blkpg_delete", "blkpg_resize", "blkrrpart", "uevent_change"}}}},
                 {"number", {{"type", "integer"}}},
                 {"start_bytes", {{"type", "integer"}}},
                 {"length_bytes", {{"type", "integer"}}}}}};
  return {{"type", "object"},
          {"properties",
           {{"device", {{"type", "string"}}},
            {"dry_run", {{"type", "boolean"}}},
            {"plan", plan_schema()},
            {"kernel_calls", {{"type", "array"}, {"items", call}}},
            {"notes", {{"type", "array"}, {"items", {{"type", "string"}}}}},
            {"partition", {{"type", {"object", "null"}}}}}}};
}

// Plan-shaped result: the plan, with "partition" as a device object when there is one.
json plan_result(const engine::PartitionOpResult& r) {
  json j = r;
  if (r.partition) j["partition"] = engine::partition_device(*r.partition, !r.dry_run);
  return j;
}

// Device-shaped result (create/resize): the partition's device object plus the plan under "plan".
json device_result(const engine::PartitionOpResult& r) {
  json j = engine::partition_device(*r.partition, !r.dry_run);
  json plan = r;
  plan.erase("partition");
  j["plan"] = plan;
  return j;
}

json device_with_plan_schema() {
  json s = device_schema();
  s["properties"]["plan"] = operation_schema();
  return s;
}

bool flag(const json& p, const char* name) { return p.value(name, false); }

}  // namespace

void register_partition_methods(Registry& r) {
  r.add(Method{"storage.list_free_space", "Unpartitioned gaps of a GPT disk, aligned",
               "Gaps of at least one alignment unit (1 MiB, or a multiple of the device's optimal I/O size); "
               "start is aligned, end is exclusive.",
               obj_schema({{"disk", device_path_schema("whole-disk device, e.g. /dev/sda")}}, {"disk"}),
               {{"type", "array"},
                {"items",
                 {{"type", "object"},
                  {"properties",
                   {{"start_bytes", {{"type", "integer"}}}, {"end_bytes", {{"type", "integer"}}}, {"size_bytes", {{"type", "integer"}}}}}}}},
               false, [](const json& p, engine::Context& ctx) { return json(engine::list_free_space(p["disk"], ctx)); }});

  r.add(Method{"storage.read_partition_table", "Both GPT copies checked: which is good, why not, and the partitions", "",
               obj_schema({{"disk", device_path_schema("whole-disk device")}}, {"disk"}), {{"type", "object"}}, false,
               [](const json& p, engine::Context& ctx) { return json(engine::read_partition_table(p["disk"], ctx)); }});

  r.add(Method{"storage.create_partition_table", "Write a fresh, empty GPT",
               "Refuses a disk carrying any signature or partition table unless force; never touches a disk "
               "with a mounted or held partition, even with force.",
               obj_schema({{"disk", device_path_schema("whole-disk device")},
                           {"force", bool_schema("overwrite existing signatures / partition table")},
                           {"dry_run", dry_run_schema()}},
                          {"disk"}),
               operation_schema(), true, [](const json& p, engine::Context& ctx) {
                 return plan_result(engine::create_partition_table(p["disk"], flag(p, "force"), flag(p, "dry_run"), ctx));
               }});

  r.add(Method{"storage.create_partition", "Add a partition to an existing GPT; returns its device object",
               "No size_bytes: all of the largest free gap. No start_bytes: the first aligned gap that fits. "
               "Works while other partitions of the disk are mounted (the kernel learns of it via BLKPG).",
               obj_schema({{"disk", device_path_schema("whole-disk device")},
                           {"name", {{"type", "string"}, {"maxLength", 144}, {"description", "partition name (PARTLABEL), at most 36 UTF-16 units"}}},
                           {"part_type", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64},
                                          {"description", "linux, esp, swap, bios_boot, linux_raid, linux_lvm, linux_home, linux_srv, xbootldr, ... or a type GUID"}}},
                           {"size_bytes", int_schema("size in bytes (rounded up to whole sectors)", 1, kMaxByteCount)},
                           {"start_bytes", int_schema("start offset in bytes (a multiple of the logical sector size)", 0, kMaxByteCount)},
                           {"dry_run", dry_run_schema()}},
                          {"disk", "name", "part_type"}),
               device_with_plan_schema(), true, [](const json& p, engine::Context& ctx) {
                 engine::CreatePartitionRequest req;
                 req.disk = p["disk"];
                 req.name = p["name"];
                 req.part_type = p["part_type"];
                 if (p.contains("size_bytes")) req.size_bytes = engine::json_integer<uint64_t>(p, "size_bytes");
                 if (p.contains("start_bytes")) req.start_bytes = engine::json_integer<uint64_t>(p, "start_bytes");
                 req.dry_run = flag(p, "dry_run");
                 return device_result(engine::create_partition(req, ctx));
               }});

  r.add(Method{"storage.delete_partition", "Remove a partition entry (refused while mounted or held)", "",
               obj_schema({{"disk", device_path_schema("whole-disk device")},
                           {"number", int_schema("partition number", 1, kMaxPartitionNumber)},
                           {"dry_run", dry_run_schema()}},
                          {"disk", "number"}),
               operation_schema(), true, [](const json& p, engine::Context& ctx) {
                 return plan_result(engine::delete_partition(p["disk"], engine::json_integer<uint32_t>(p, "number"), flag(p, "dry_run"), ctx));
               }});

  r.add(Method{"storage.resize_partition", "Grow a partition to a size or to the end of the free space after it",
               "size_bytes is a byte count or \"max\". Shrinking is refused (it would cut off data). "
               "Works on mounted partitions (BLKPG resize).",
               obj_schema({{"disk", device_path_schema("whole-disk device")},
                           {"number", int_schema("partition number", 1, kMaxPartitionNumber)},
                           {"size_bytes", {{"type", {"integer", "string"}}, {"minimum", 1}, {"maximum", kMaxByteCount}, {"pattern", "^max$"},
                                           {"description", "new size in bytes, or \"max\""}}},
                           {"dry_run", dry_run_schema()}},
                          {"disk", "number", "size_bytes"}),
               device_with_plan_schema(), true, [](const json& p, engine::Context& ctx) {
                 std::optional<uint64_t> size;
                 if (p["size_bytes"].is_number()) size = engine::json_integer<uint64_t>(p, "size_bytes");
                 return device_result(engine::resize_partition(p["disk"], engine::json_integer<uint32_t>(p, "number"), size, flag(p, "dry_run"), ctx));
               }});

  r.add(Method{"storage.wipe_signatures", "Erase every known signature on a disk or partition (like wipefs --all)",
               "Includes both GPT headers and the MBR magic. Refused on mounted or held devices; a device "
               "that carries signatures needs force.",
               obj_schema({{"device", device_path_schema("disk or partition")},
                           {"force", bool_schema("erase signatures that are present")},
                           {"dry_run", dry_run_schema()}},
                          {"device"}),
               operation_schema(), true, [](const json& p, engine::Context& ctx) {
                 return plan_result(engine::wipe_signatures(p["device"], flag(p, "force"), flag(p, "dry_run"), ctx));
               }});

  r.add(Method{"storage.repair_partition_table", "Restore a damaged GPT copy from the good one",
               "Also moves a backup that is not at the end of the disk (grown device) to the end.",
               obj_schema({{"disk", device_path_schema("whole-disk device")}, {"dry_run", dry_run_schema()}}, {"disk"}),
               operation_schema(), true, [](const json& p, engine::Context& ctx) {
                 return plan_result(engine::repair_partition_table(p["disk"], flag(p, "dry_run"), ctx));
               }});
}

}  // namespace mos::rpc
