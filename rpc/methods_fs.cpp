// storage.create_filesystem / repair_superblock / mount / unmount / usage.
#include "engine/format/format.hpp"
#include "engine/fstypes.hpp"
#include "engine/mount.hpp"
#include "engine/repair/repair.hpp"
#include "base/error.hpp"
#include "rpc/call.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

json usage_schema() {
  return {{"type", "object"},
          {"properties",
           {{"target", plain("string")},
            {"source", plain("string")},
            {"device", nullable("string")},
            {"fstype", plain("string")},
            {"size_bytes", plain("integer")},
            {"used_bytes", plain("integer")},
            {"available_bytes", plain("integer")},
            {"use_percent", plain("integer")}}}};
}

// The fstype, label and uuid parameters and the type-specific ones, from the filesystem-type table.
json fstype_enum() {
  json names = json::array();
  for (const auto& t : engine::filesystem_types()) names.push_back(t.name);
  return names;
}

void add_create_filesystem(Registry& r) {
  using engine::fstypes_taking;
  const std::string multi = engine::multi_device_fstypes();
  const std::string refused = engine::refused_fstypes();
  json options = obj_schema(
      {{"full_init", bool_schema(fstypes_taking("full_init") + ": zero inode tables and journal now instead of lazily")},
       {"block_size", {{"type", "integer"},
                       {"enum", {1024, 2048, 4096}},
                       {"description", fstypes_taking("block_size") + " block size (default: as mke2fs chooses)"}}}});
  options["description"] = "fstype-specific options";
  json params = obj_schema(
      {{"device", path_schema("block device, e.g. /dev/sdb1")},
       {"fstype", {{"type", "string"}, {"enum", fstype_enum()},
                   {"description",
                    "filesystem to create (" + refused + " is known but refused with -32000: no native writer yet)"}}},
       {"label", {{"type", "string"}, {"maxLength", engine::longest_label_bytes()},
                  {"description", engine::label_limits_text() + "; \"\" = none"}}},
       {"uuid", {{"type", "string"}, {"minLength", 8}, {"maxLength", 36},
                 {"description", engine::volume_id_fstypes() +
                                     ": volume id XXXX-XXXX; others: 36-character UUID; random when absent"}}},
       {"options", options},
       {"devices", {{"type", "array"}, {"maxItems", 63},
                    {"items", path_schema("further " + multi + " member device")},
                    {"description", multi + " only: member devices in addition to `device` (which is always the first "
                                    "member), e.g. [\"/dev/sdc\"] for a two-device RAID1"}}},
       {"profile", {{"type", "string"}, {"enum", {"single", "dup", "raid1"}},
                    {"description", multi + " only: data and metadata profile (default: data single, metadata dup on "
                                    "one device / raid1 on several); raid1 needs at least two devices"}}},
       {"data_profile", {{"type", "string"}, {"enum", {"single", "dup", "raid1"}},
                         {"description", multi + " only: data profile, overrides profile"}}},
       {"metadata_profile", {{"type", "string"}, {"enum", {"single", "dup", "raid1"}},
                             {"description", multi + " only: metadata (and system) profile, overrides profile"}}},
       {"force", bool_schema("overwrite an existing signature or partition table (never a mounted/held device)")},
       {"dry_run", bool_schema("return the plan without writing anything")}},
      {"device", "fstype", "label"});
  json result = {{"type", "object"},
                 {"properties",
                  {{"device", device_schema()},
                   {"fstype", plain("string")},
                   {"label", plain("string")},
                   {"uuid", nullable("string")},
                   {"dry_run", plain("boolean")},
                   {"plan", plan_schema()},
                   {"members", {{"type", "array"},
                                {"description", "every device written, `device` first, each with its plan"},
                                {"items", {{"type", "object"},
                                           {"properties", {{"device", device_schema()}, {"plan", plan_schema()}}}}}}}}}};
  r.add(Method{"storage.create_filesystem",
               "Create a " + engine::fstype_names(&engine::FilesystemType::creatable, ", ", " or ") +
                   " filesystem on a device",
               "Refuses mounted or held devices always, and devices carrying a signature or partition table "
               "unless force. Wipes the first and last MiB, then writes the filesystem with the native writer. "
               "btrfs over several devices (`devices`, `profile: raid1`): every member is checked before any is "
               "written, and each is registered with the kernel afterwards. "
               "dry_run returns the plan (steps, byte ranges, totals) and writes nothing.",
               params, result, true, [](const json& p, engine::Context& ctx) {
                 engine::FormatRequest req;
                 req.device = p.at("device");
                 req.fstype = p.at("fstype");
                 req.label = p.at("label");
                 if (p.contains("uuid")) req.uuid = p["uuid"].get<std::string>();
                 if (p.contains("options")) {
                   const json& o = p["options"];
                   if (o.contains("full_init")) req.full_init = o["full_init"].get<bool>();
                   if (o.contains("block_size")) req.block_size = engine::json_integer<uint32_t>(o, "block_size");
                 }
                 if (p.contains("devices")) req.devices = p["devices"].get<std::vector<std::string>>();
                 if (p.contains("profile")) req.profile = p["profile"].get<std::string>();
                 if (p.contains("data_profile")) req.data_profile = p["data_profile"].get<std::string>();
                 if (p.contains("metadata_profile")) req.metadata_profile = p["metadata_profile"].get<std::string>();
                 req.force = p.value("force", false);
                 req.dry_run = p.value("dry_run", false);
                 return json(engine::create_filesystem(req, ctx));
               }});
}

void add_repair_superblock(Registry& r) {
  json result = {{"type", "object"},
                 {"properties",
                  {{"device", device_schema()},
                   {"format", {{"type", "string"}, {"description", "btrfs | ext4 | ext3 | ext2 | vfat | gpt"}}},
                   {"damage", nullable("string")},
                   {"source", nullable("string")},
                   {"dry_run", plain("boolean")},
                   {"repaired", plain("boolean")},
                   {"plan", plan_schema()},
                   {"notes", {{"type", "array"}, {"items", plain("string")}}}}}};
  r.add(Method{"storage.repair_superblock", "Rewrite a damaged primary superblock or GPT header from its valid copy",
               "btrfs: the newest valid mirror (same fsid as every valid copy, checksum computable here), bytenr and "
               "checksum set for the primary place. FAT32: the backup boot sector (FSInfo too when it is damaged, its "
               "free count counted from the FAT). ext2/3/4: a backup group's superblock with s_block_group_nr 0 and "
               "the free counts of the primary group descriptors (refused, naming `e2fsck -b`, when those are damaged "
               "too or the journal needs recovery). GPT (a whole disk): the primary header and entries from the "
               "backup. Refuses mounted or held devices (there is no force), copies that disagree or do not verify, "
               "and other formats; a healthy primary is left alone. dry_run returns the plan and writes nothing.",
               obj_schema({{"device", path_schema("block device, e.g. /dev/sdb2 (a whole disk for its GPT)")},
                           {"dry_run", bool_schema("return the plan without writing anything")}},
                          {"device"}),
               result, true, [](const json& p, engine::Context& ctx) {
                 return json(engine::repair_superblock({p.at("device"), p.value("dry_run", false)}, ctx));
               }});
}

}  // namespace

void register_fs_methods(Registry& r) {
  add_create_filesystem(r);
  add_repair_superblock(r);

  json mount_result = mount_schema();
  mount_result["properties"]["already_mounted"] = plain("boolean");
  r.add(Method{"storage.mount", "Mount a block device through the kernel mount API",
               "Creates the target directory. Options like 'noatime,compress=zstd': mount flags (ro, noatime, "
               "nosuid, ...) become mount attributes, the rest go to the filesystem; its own error text is returned. "
               "btrfs: every allowed device carrying the same btrfs UUID is registered with the kernel first "
               "(BTRFS_IOC_SCAN_DEV), so a multi-device filesystem mounts after a reboot.",
               obj_schema({{"source", path_schema("block device to mount")},
                           {"target", path_schema("absolute directory; created when missing")},
                           {"fstype", {{"type", "string"}, {"minLength", 1}, {"maxLength", 64},
                                       {"pattern", "^[a-z0-9_.]+$"},
                                       {"description", "filesystem type: " +
                                                           engine::fstype_names(&engine::FilesystemType::mountable, ", ", " or ") +
                                                           " (other block filesystems only by the daemon's --mount-fstype)"}}},
                           {"options", {{"type", "string"}, {"maxLength", 4096},
                                        {"description", "comma-separated mount options (per-filesystem allow list)"}}},
                           {"privileged", {{"type", "boolean"}, {"description", "allow suid/dev options (default nosuid,nodev); uid 0 only"}}}},
                          {"source", "target", "fstype"}),
               mount_result, true, [](const json& p, engine::Context& ctx) {
                 const bool privileged = p.value("privileged", false);
                 // suid and dev binaries run as root: asking for them is root's alone, not an admin's.
                 if (privileged && current_call().caller.uid != 0)
                   throw Error(ErrorCode::validation, "privileged mounts (suid, dev) are allowed only to uid 0 (caller uid " +
                                                          std::to_string(current_call().caller.uid) +
                                                          "); mounts are nosuid,nodev");
                 engine::MountRequest req{p.at("source"), p.at("target"), p.at("fstype"), p.value("options", ""),
                                          privileged};
                 return json(engine::mount(req, ctx));
               }});
  r.add(Method{"storage.unmount", "Unmount a mount point",
               "Only what storage.mount would mount: a mountable fstype from a block device the policy allows to "
               "mount, at or beneath a --mount-prefix.",
               obj_schema({{"path", path_schema("mount point")},
                           {"lazy", bool_schema("detach now, clean up when no longer busy (MNT_DETACH)")}},
                          {"path"}),
               {{"type", "object"},
                {"properties", {{"target", plain("string")}, {"source", plain("string")}, {"lazy", plain("boolean")}}}},
               true, [](const json& p, engine::Context& ctx) {
                 return json(engine::unmount(p.at("path"), p.value("lazy", false), ctx));
               }});
  r.add(Method{"storage.usage", "Size, used and available bytes of every mounted block-device filesystem",
               "statvfs per mount, in df's terms (used = blocks - free; percent = used / (used + available), "
               "rounded up).",
               obj_schema(json::object()), {{"type", "array"}, {"items", usage_schema()}}, false,
               [](const json&, engine::Context&) { return json(engine::usage()); }});
}

}  // namespace mos::rpc
