// storage.create_raid / assemble_raid / stop_raid / list_raids / raid_add_member /
// raid_remove_member: md RAID1 arrays through the kernel (engine/raid/raid.hpp).
#include "engine/raid/raid.hpp"
#include "mdraid/superblock.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

json name_schema(const std::string& description) {
  return {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,32}$"}, {"description", description}};
}
json array_ref_schema() {
  return path_schema("the array: its name (mosefi), /dev/md_<name>, /dev/md/<name> or another md device path");
}
json uuid_schema(const std::string& description) {
  return {{"type", "string"}, {"minLength", 32}, {"maxLength", 36}, {"pattern", "^[0-9a-fA-F:-]+$"}, {"description", description}};
}

}  // namespace

json raid_schema() {
  json member = {{"type", "object"},
                 {"properties",
                  {{"device", nullable("string")},
                   {"slot", nullable("integer")},
                   {"state", {{"type", "string"}, {"description", "in_sync | spare | rebuilding | faulty | missing"}}},
                   {"events", nullable("integer")}}}};
  return {{"type", "object"},
          {"properties",
           {{"name", plain("string")},
            {"device", plain("string")},
            {"link", nullable("string")},
            {"metadata", plain("string")},
            {"uuid", nullable("string")},
            {"level", plain("string")},
            {"state", plain("string")},
            {"raid_disks", plain("integer")},
            {"degraded", plain("integer")},
            {"sync_action", nullable("string")},
            {"sync_done_bytes", nullable("integer")},
            {"sync_total_bytes", nullable("integer")},
            {"size_bytes", plain("integer")},
            {"members", {{"type", "array"}, {"items", member}}}}}};
}

namespace {

json member_plan_schema() {
  return {{"type", "object"}, {"properties", {{"device", device_schema()}, {"plan", plain("object")}}}};
}

void add_create(Registry& r) {
  json params = obj_schema(
      {{"name", name_schema("array name: md device /dev/md_<name>, link /dev/md/<name>")},
       {"metadata", {{"type", "string"}, {"enum", {"0.90", "1.2"}}, {"description", "superblock version (default 1.2)"}}},
       {"members", {{"type", "array"}, {"minItems", 2}, {"maxItems", 2},
                    {"items", path_schema("member device, or \"missing\" for a degraded start")},
                    {"description", "two devices, or one device and \"missing\""}}},
       {"uuid", uuid_schema("array UUID; random when absent")},
       {"zero_members", bool_schema("zero the members' data areas (write-zeroes) so the array starts without a resync")},
       {"assume_clean", bool_schema("the data areas are known to be identical: no initial resync")},
       {"force", bool_schema("overwrite existing signatures (never a mounted or held member)")},
       {"start", bool_schema("start the array through the kernel (default true); false writes the superblocks only")},
       {"dry_run", bool_schema("return the plans without writing or starting anything")}},
      {"name", "members"});
  json result = {{"type", "object"},
                 {"properties",
                  {{"array", raid_schema()},
                   {"started", plain("boolean")},
                   {"dry_run", plain("boolean")},
                   {"resync", plain("boolean")},
                   {"members", {{"type", "array"}, {"items", member_plan_schema()}}}}}};
  r.add(Method{"storage.create_raid", "Create and start an md RAID1 array (metadata 0.90 or 1.2) without mdadm",
               "Checks every member (policy, not mounted/held/in an array, no signature unless force) and the md "
               "device, writes the superblocks natively, then starts the array with the md ioctls as md_<name> "
               "and links /dev/md/<name>. The initial resync is the kernel's unless zero_members or assume_clean.",
               params, result, true, [](const json& p, engine::Context& ctx) {
                 engine::RaidCreateRequest req;
                 req.name = p.at("name");
                 req.metadata = mdraid::parse_metadata(p.value("metadata", "1.2"));
                 req.members = p.at("members").get<std::vector<std::string>>();
                 if (p.contains("uuid")) req.uuid = p["uuid"].get<std::string>();
                 req.zero_members = p.value("zero_members", false);
                 req.assume_clean = p.value("assume_clean", false);
                 req.force = p.value("force", false);
                 req.start = p.value("start", true);
                 req.dry_run = p.value("dry_run", false);
                 return json(engine::create_raid(req, ctx));
               }});
}

void add_assemble(Registry& r) {
  json left_out = {{"type", "object"}, {"properties", {{"device", plain("string")}, {"reason", plain("string")}}}};
  json assembly = {{"type", "object"},
                   {"properties",
                    {{"name", plain("string")},
                     {"uuid", plain("string")},
                     {"metadata", plain("string")},
                     {"outcome", {{"type", "string"},
                                  {"description", "started | started_degraded | already_running | would_start | "
                                                  "would_start_degraded | failed"}}},
                     {"members", {{"type", "array"}, {"items", plain("string")}}},
                     {"missing_slots", {{"type", "array"}, {"items", plain("integer")}}},
                     {"left_out", {{"type", "array"}, {"items", left_out}}},
                     {"array", {{"oneOf", json::array({raid_schema(), plain("null")})}}},
                     {"error", nullable("string")}}}};
  r.add(Method{"storage.assemble_raid", "Find md members by probing and start their arrays",
               "Groups members by array UUID, keeps the freshest by event count (one event behind counts as fresh, "
               "as in the kernel), leaves out and reports stale or diverged members, starts degraded when a member "
               "is missing, skips arrays already running. A 0.90 array is named after its members' common GPT "
               "partition name, else md<preferred minor>.",
               obj_schema({{"name", name_schema("only the array of this name")},
                           {"uuid", uuid_schema("only the array of this UUID")},
                           {"devices", {{"type", "array"}, {"maxItems", 64}, {"items", path_schema("device to probe")},
                                        {"description", "probe only these devices (default: every allowed device)"}}},
                           {"dry_run", bool_schema("report what would be started, start nothing")}}),
               {{"type", "object"}, {"properties", {{"arrays", {{"type", "array"}, {"items", assembly}}}}}}, true,
               [](const json& p, engine::Context& ctx) {
                 engine::RaidAssembleRequest req;
                 if (p.contains("name")) req.name = p["name"].get<std::string>();
                 if (p.contains("uuid")) req.uuid = p["uuid"].get<std::string>();
                 if (p.contains("devices")) req.devices = p["devices"].get<std::vector<std::string>>();
                 req.dry_run = p.value("dry_run", false);
                 return json(engine::assemble_raids(req, ctx));
               }});
}

}  // namespace

void register_raid_methods(Registry& r) {
  add_create(r);
  add_assemble(r);
  r.add(Method{"storage.stop_raid", "Stop an md array (refused while it is mounted or held)", "",
               obj_schema({{"array", array_ref_schema()}}, {"array"}), raid_schema(), true,
               [](const json& p, engine::Context& ctx) { return json(engine::stop_raid(p.at("array"), ctx)); }});
  r.add(Method{"storage.list_raids", "Every md array: state, degraded, sync progress, members and roles (sysfs)", "",
               obj_schema(json::object()), {{"type", "array"}, {"items", raid_schema()}}, false,
               [](const json&, engine::Context& ctx) { return json(engine::list_raids(ctx)); }});
  r.add(Method{"storage.raid_add_member", "Add a blank replacement member; the kernel rebuilds onto it (a job)",
               "Writes a spare superblock of the array on the device (refused when mounted, held, or carrying a "
               "signature without force), adds it with ADD_NEW_DISK; `job` follows the rebuild (storage.jobs).",
               obj_schema({{"array", array_ref_schema()},
                           {"device", path_schema("the new member device")},
                           {"force", bool_schema("overwrite an existing signature (never a mounted or held device)")},
                           {"dry_run", bool_schema("return the plan without writing or adding anything")}},
                          {"array", "device"}),
               {{"type", "object"},
                {"properties",
                 {{"array", raid_schema()}, {"job", nullable("integer")}, {"dry_run", plain("boolean")},
                  {"member", {{"oneOf", json::array({member_plan_schema(), plain("null")})}}}}}},
               true, [](const json& p, engine::Context& ctx) {
                 engine::RaidAddRequest req{p.at("array"), p.at("device"), p.value("force", false), p.value("dry_run", false)};
                 return json(engine::raid_add_member(req, ctx));
               }});
  r.add(Method{"storage.raid_remove_member", "Fail and remove a member of a running array",
               "SET_DISK_FAULTY then HOT_REMOVE_DISK; refused for the last in-sync member.",
               obj_schema({{"array", array_ref_schema()}, {"device", path_schema("the member to remove")}}, {"array", "device"}),
               raid_schema(), true, [](const json& p, engine::Context& ctx) {
                 return json(engine::raid_remove_member(p.at("array"), p.at("device"), ctx));
               }});
}

}  // namespace mos::rpc
