// storage.volume_*: volumes for VMs and containers (engine/volumes/) in the subvolume named by
// --volumes-dir. Every method is for uid 0 and the admin group: changes are mutating, and even
// list and show open the images (xattrs, FIEMAP), which a metadata-only caller never makes the
// daemon do.
#include <optional>

#include "engine/volumes/attach.hpp"
#include "engine/volumes/store.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

namespace {

namespace vol = engine::volumes;

json volume_json(const vol::Volume& v) {
  auto opt = [](const auto& o) { return o ? json(*o) : json(nullptr); };
  return {{"name", v.name},         {"kind", vol::kind_name(v.kind)},    {"path", v.path},
          {"size", v.size},         {"created_unix", v.created_unix},   {"origin", opt(v.origin)},
          {"snapshot", v.snapshot}, {"exclusive_bytes", opt(v.exclusive_bytes)},
          {"shared_bytes", opt(v.shared_bytes)}, {"attached", opt(v.attached)},
          {"limit", opt(v.limit.bytes)},    {"limit_mode", vol::limit_mode_name(v.limit.mode)},
          {"limit_inconsistent", v.limit.inconsistent}, {"limit_used_bytes", opt(v.limit.used_bytes)}};
}

json volume_schema() {
  return {{"type", "object"},
          {"properties",
           {{"name", plain("string")},
            {"kind", {{"type", "string"}, {"enum", {"fs", "block"}}}},
            {"path", plain("string")},
            {"size", {{"type", "integer"}, {"description", "block: bytes of the image; fs: 0"}}},
            {"created_unix", plain("integer")},
            {"origin", nullable("string")},
            {"snapshot", plain("boolean")},
            {"exclusive_bytes", {{"type", {"integer", "null"}}, {"description", "block: extents only this image has"}}},
            {"shared_bytes", {{"type", {"integer", "null"}}, {"description", "block: extents shared with a clone or snapshot"}}},
            {"attached", {{"type", {"string", "null"}}, {"description", "block: the loop device backed by it"}}},
            {"limit", {{"type", {"integer", "null"}}, {"description", "fs: max referenced bytes; null: no limit"}}},
            {"limit_mode",
             {{"type", "string"},
              {"enum", {"simple", "qgroup", "none"}},
              {"description", "how the limit is enforced: btrfs simple quotas (kernel 6.7+), qgroups, or none"}}},
            {"limit_inconsistent",
             {{"type", "boolean"}, {"description", "the kernel marked the qgroup figures inconsistent (a rescan fixes them)"}}},
            {"limit_used_bytes",
             {{"type", {"integer", "null"}}, {"description", "fs: bytes counted against the limit (null: quota off)"}}},
            {"dry_run", plain("boolean")},
            {"actions", strings()}}}};
}

json dry_run_param() { return bool_schema("validate as the real call does and say what it would do; write nothing"); }

// The engine's dry-run record when the call asks for one (null: do it).
std::optional<vol::DryRun> dry_run_of(const json& p) {
  return p.value("dry_run", false) ? std::optional<vol::DryRun>(vol::DryRun{}) : std::nullopt;
}

// A dry run's answer: what the real call would answer, with what it would do.
json with_actions(json result, const std::optional<vol::DryRun>& dry) {
  if (dry) {
    result["dry_run"] = true;
    result["actions"] = dry->actions;
  }
  return result;
}

// The store at ctx.volumes_dir: its parent must be a directory on a mounted btrfs the policy
// allows; the subvolume itself is made on the first change, and each change first removes what
// an earlier crash left in progress (under the store's lock, so never another call's work).
// A dry run makes nothing and sweeps nothing: it sees the store as the real call would find it
// (a missing one, for a call that would make it, as the empty store it would make).
vol::Store open_store(const engine::Context& ctx, bool create, const std::optional<vol::DryRun>& dry = std::nullopt) {
  const std::string& dir = ctx.volumes_dir;
  const size_t slash = dir.find_last_of('/');
  if (dir.empty() || dir[0] != '/' || slash == std::string::npos || slash + 1 == dir.size())
    throw Error(ErrorCode::validation, "--volumes-dir must be an absolute path naming the volumes subvolume, got '" + dir + "'");
  const std::string parent = slash == 0 ? "/" : dir.substr(0, slash);
  if (dry && create) return vol::Store::open_for_dry_run(parent, dir.substr(slash + 1), ctx);
  vol::Store s = vol::Store::open(parent, dir.substr(slash + 1), ctx, create);
  if (create) s.sweep_incomplete();
  return s;
}

vol::DryRun* ptr(std::optional<vol::DryRun>& dry) { return dry ? &*dry : nullptr; }

json name_param() { return str_schema("volume name: 1 to 64 of A-Z a-z 0-9 _ . -, not starting with '.'"); }

Method volume_method(std::string name, std::string summary, std::string description, json params, json result,
                     bool mutating, std::function<json(const json&, engine::Context&)> handler) {
  Method m{std::move(name), std::move(summary), std::move(description), std::move(params), std::move(result),
           mutating, std::move(handler)};
  m.reads_contents = !mutating;  // admin role even for the reads (they open the images)
  return m;
}

}  // namespace

void register_volume_methods(Registry& r) {
  r.add(volume_method(
      "storage.volume_create", "Create a volume: fs (a subvolume) or block (a raw image of a size)",
      "Idempotent: the same name, kind, size and limit answer the existing volume; other parameters are refused "
      "and nothing is written. Built under an in-progress name and renamed last. An fs volume's limit turns btrfs "
      "quota on for the whole filesystem (simple quotas where the kernel has them, qgroups otherwise).",
      obj_schema({{"name", name_param()},
                  {"kind", {{"type", "string"}, {"enum", {"fs", "block"}}}},
                  {"size", int_schema("block: bytes, a positive multiple of 512", 0, kMaxByteCount)},
                  {"limit", int_schema("fs: max referenced bytes (writes past it fail with EDQUOT); 0: none", 0,
                                       kMaxByteCount)},
                  {"dry_run", dry_run_param()}},
                 {"name", "kind"}),
      volume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
        auto dry = dry_run_of(p);
        vol::Store s = open_store(ctx, true, dry);
        uint64_t size = p.contains("size") ? engine::json_integer<uint64_t>(p, "size") : 0;
        uint64_t limit = p.contains("limit") ? engine::json_integer<uint64_t>(p, "limit") : 0;
        return with_actions(volume_json(s.create({p["name"], vol::parse_kind(p["kind"]), size, limit}, ptr(dry))), dry);
      }));
  r.add(volume_method("storage.volume_list", "Every volume with its kind, size, origin, bytes used and attachment", "",
                      obj_schema({}), {{"type", "array"}, {"items", volume_schema()}}, false,
                      [](const json&, engine::Context& ctx) -> json {
                        json out = json::array();
                        for (const auto& v : open_store(ctx, false).list()) out.push_back(volume_json(v));
                        return out;
                      }));
  r.add(volume_method("storage.volume_show", "One volume", "", obj_schema({{"name", name_param()}}, {"name"}),
                      volume_schema(), false, [](const json& p, engine::Context& ctx) -> json {
                        return volume_json(open_store(ctx, false).show(p["name"]));
                      }));
  r.add(volume_method(
      "storage.volume_clone", "A writable copy sharing every extent with its origin (constant time)",
      "block: FICLONE (what an attached writer has not flushed is not in it); fs: a writable snapshot.",
      obj_schema({{"origin", name_param()}, {"name", name_param()}, {"dry_run", dry_run_param()}}, {"origin", "name"}),
      volume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
        auto dry = dry_run_of(p);
        return with_actions(volume_json(open_store(ctx, true, dry).clone(p["origin"], p["name"], ptr(dry))), dry);
      }));
  r.add(volume_method("storage.volume_snapshot", "A read-only point-in-time copy (immutable image / read-only subvolume)",
                      "",
                      obj_schema({{"origin", name_param()}, {"name", name_param()}, {"dry_run", dry_run_param()}},
                                 {"origin", "name"}),
                      volume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
                        auto dry = dry_run_of(p);
                        vol::Store s = open_store(ctx, true, dry);
                        return with_actions(volume_json(s.snapshot(p["origin"], p["name"], ptr(dry))), dry);
                      }));
  r.add(volume_method(
      "storage.volume_resize",
      "Grow a block volume (smaller only with force; an attached device is told), or change an fs volume's limit",
      "For an fs volume size is the new limit, 0 removes it (quota stays on: it is filesystem-wide).",
      obj_schema({{"name", name_param()},
                  {"size", int_schema("block: new size in bytes, a positive multiple of 512; fs: the new limit, 0 = none",
                                      0, kMaxByteCount)},
                  {"force", bool_schema("allow shrinking (drops the data past the new end)")},
                  {"dry_run", dry_run_param()}},
                 {"name", "size"}),
      volume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
        auto dry = dry_run_of(p);
        return with_actions(volume_json(vol::resize(open_store(ctx, false, dry), p["name"],
                                                    engine::json_integer<uint64_t>(p, "size"), p.value("force", false),
                                                    ptr(dry))),
                            dry);
      }));
  r.add(volume_method(
      "storage.volume_attach", "Attach a block volume as a loop device (idempotent)",
      "Direct I/O unless direct_io is false (the kernel falls back to buffered I/O where it must; the answer says "
      "which). A snapshot is always read-only. The stable name is the link <run_dir>/volumes/<name>.",
      obj_schema({{"name", name_param()},
                  {"read_only", bool_schema("attach read-only")},
                  {"direct_io", bool_schema("ask for direct I/O (default true)")},
                  {"dry_run", dry_run_param()}},
                 {"name"}),
      {{"type", "object"},
       {"properties",
        {{"device", {{"type", {"string", "null"}}, {"description", "null only in a dry run of a new attachment"}}},
         {"link", plain("string")}, {"read_only", plain("boolean")}, {"direct_io", plain("boolean")},
         {"already", plain("boolean")}, {"dry_run", plain("boolean")}, {"actions", strings()}}}},
      true, [](const json& p, engine::Context& ctx) -> json {
        auto dry = dry_run_of(p);
        auto a = vol::attach(open_store(ctx, false, dry), p["name"], p.value("read_only", false),
                             p.value("direct_io", true), ctx, ptr(dry));
        return with_actions({{"device", a.device.empty() ? json(nullptr) : json(a.device)}, {"link", a.link},
                             {"read_only", a.read_only}, {"direct_io", a.direct_io}, {"already", a.already}},
                            dry);
      }));
  r.add(volume_method(
      "storage.volume_detach", "Detach a block volume's loop device",
      "Refused while the device is mounted or held; a device some process still has open goes when it is closed "
      "(deferred: true).",
      obj_schema({{"name", name_param()}, {"dry_run", dry_run_param()}}, {"name"}),
      {{"type", "object"},
       {"properties",
        {{"device", plain("string")}, {"deferred", plain("boolean")}, {"dry_run", plain("boolean")},
         {"actions", strings()}}}},
      true, [](const json& p, engine::Context& ctx) -> json {
        auto dry = dry_run_of(p);
        auto d = vol::detach(open_store(ctx, false, dry), p["name"], ctx, ptr(dry));
        return with_actions({{"device", d.device}, {"deferred", d.deferred}}, dry);
      }));
  r.add(volume_method("storage.volume_delete", "Delete a volume (refused while attached or mounted, with the reason)",
                      "Returns what was deleted.",
                      obj_schema({{"name", name_param()}, {"dry_run", dry_run_param()}}, {"name"}), volume_schema(),
                      true, [](const json& p, engine::Context& ctx) -> json {
                        auto dry = dry_run_of(p);
                        return with_actions(volume_json(open_store(ctx, false, dry).remove(p["name"], ptr(dry))), dry);
                      }));
}

}  // namespace mos::rpc
