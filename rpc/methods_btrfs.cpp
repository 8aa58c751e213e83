// btrfs management methods: subvolumes, quota, scrub, balance, defrag, resize, devices, usage.
// Scrub, balance and defrag run as jobs ("background": true returns {job_id} at once).
#include "engine/btrfs/json.hpp"
#include "engine/device_key.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/jobs/state_scrub.hpp"
#include "rpc/job_runner.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {

namespace bt = engine::btrfs;

namespace {

std::optional<std::string> opt_string(const json& p, const char* key) {
  if (!p.contains(key) || p[key].is_null()) return std::nullopt;
  return p[key].get<std::string>();
}

json filesystem_param() {
  return str_schema("mount path of the btrfs, or its label (default: the filesystem labelled MOSDATA)");
}
json mount_point_param() { return str_schema("mount point of a mounted btrfs"); }
json background_param() { return bool_schema("return {job_id} at once instead of waiting for the result"); }

json object_result(const std::string& description, json properties = json::object()) {
  return {{"type", "object"}, {"description", description}, {"properties", std::move(properties)}};
}
json int_prop() { return {{"type", "integer"}}; }
json str_prop() { return {{"type", "string"}}; }

json subvolume_schema() {
  return object_result("a subvolume", {{"id", int_prop()},
                                       {"parent_id", int_prop()},
                                       {"path", str_prop()},
                                       {"uuid", str_prop()},
                                       {"parent_uuid", {{"type", json::array({"string", "null"})}}},
                                       {"read_only", {{"type", "boolean"}}},
                                       {"generation", int_prop()},
                                       {"created_unix", int_prop()}});
}

// Marks queued and running jobs of this kind on target cancelled (the kernel operation is
// cancelled separately); returns how many were still queued (never started in the kernel).
size_t cancel_jobs(engine::Context& ctx, const std::string& kind, const std::string& target) {
  auto& jobs = ctx.job_registry();
  size_t queued = 0;
  for (auto& j : jobs.list())
    if (j.kind == kind && j.target == target && j.active()) {
      queued += j.state == "queued";
      jobs.cancel(j.id);
    }
  return queued;
}

// Progress and cancel flag of a job in the shape the btrfs engine takes.
bt::ProgressFn job_progress(engine::JobHandle& h) {
  return [&h](uint64_t d, uint64_t t) { h.progress(d, t); };
}

void register_subvolume_methods(Registry& r) {
  r.add(Method{"storage.list_subvolumes", "Subvolumes of a btrfs (ids, paths, parents, uuids, read-only)",
               "Paths are relative to the top level (subvolid 5), as `btrfs subvolume list` prints them. A query "
               "never mounts: read through a mount of the top level (top_level_path) or of any subvolume "
               "(top_level_path empty); an unmounted filesystem answers -32001 \"not mounted\".",
               obj_schema({{"filesystem", filesystem_param()}}),
               object_result("subvolumes", {{"fsid", str_prop()},
                                            {"top_level_path", str_prop()},
                                            {"subvolumes", {{"type", "array"}, {"items", subvolume_schema()}}}}),
               false, [](const json& p, engine::Context& ctx) -> json {
                 return bt::list_subvolumes(opt_string(p, "filesystem"), ctx);
               }});
  r.add(Method{"storage.create_subvolume", "Create a subvolume at the top level of a btrfs",
               "name: one path component of letters, digits and . _ - + @ (1..255 bytes).",
               obj_schema({{"name", str_schema("subvolume name")}, {"filesystem", filesystem_param()}}, {"name"}),
               subvolume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::create_subvolume(p["name"], opt_string(p, "filesystem"), ctx);
               }});
  r.add(Method{"storage.delete_subvolume", "Delete a subvolume (never system, etc, modules, vm-meta, mos-bin)",
               "Returns the deleted subvolume.",
               obj_schema({{"name", str_schema("subvolume name")}, {"filesystem", filesystem_param()}}, {"name"}),
               subvolume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::delete_subvolume(p["name"], opt_string(p, "filesystem"), ctx);
               }});
  r.add(Method{"storage.snapshot_subvolume", "Read-only snapshot of a subvolume", "",
               obj_schema({{"source", str_schema("subvolume to snapshot")},
                           {"snapshot", str_schema("name of the new snapshot")},
                           {"filesystem", filesystem_param()}},
                          {"source", "snapshot"}),
               subvolume_schema(), true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::snapshot_subvolume(p["source"], p["snapshot"], opt_string(p, "filesystem"), ctx);
               }});
  r.add(Method{"storage.set_quota", "Limit the referenced bytes of a subvolume (enables quota if needed)",
               "Sets max_rfer on qgroup 0/<subvolid>; max_bytes 0 removes the limit.",
               obj_schema({{"name", str_schema("subvolume name")},
                           {"max_bytes", int_schema("limit in bytes (0 = no limit)", 0, kMaxByteCount)},
                           {"filesystem", filesystem_param()}},
                          {"name", "max_bytes"}),
               object_result("the subvolume's qgroup", {{"qgroupid", str_prop()},
                                                         {"max_referenced_bytes", {{"type", json::array({"integer", "null"})}}},
                                                         {"referenced_bytes", int_prop()},
                                                         {"exclusive_bytes", int_prop()}}),
               true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::set_quota(p["name"], engine::json_integer<uint64_t>(p, "max_bytes"), opt_string(p, "filesystem"), ctx);
               }});
}

json scrub_schema() {
  return object_result("scrub state and counters (btrfs scrub status -R)",
                       {{"state", str_prop()}, {"totals", {{"type", "object"}}}, {"devices", {{"type", "array"}}}});
}
json balance_schema() {
  return object_result("balance state", {{"state", str_prop()},
                                         {"expected_chunks", int_prop()},
                                         {"considered_chunks", int_prop()},
                                         {"completed_chunks", int_prop()},
                                         {"convert", {{"type", json::array({"string", "null"})}}}});
}

void register_scrub_balance_methods(Registry& r) {
  r.add(Method{"storage.scrub_start", "Scrub every device of a mounted btrfs (a job)",
               "One kernel scrub per device, in parallel; progress in bytes. read_only reports without repairing.",
               obj_schema({{"mount_point", mount_point_param()},
                           {"read_only", bool_schema("only report errors, do not repair")},
                           {"background", background_param()}},
                          {"mount_point"}),
               job_result_schema(scrub_schema()), true, nullptr,
               job_method([](const json& p, engine::Context& ctx) {
                 std::string mp = p["mount_point"];
                 bt::scrub_check_can_start(mp, ctx);
                 bool ro = p.value("read_only", false);
                 return JobCall{"scrub", mp, engine::btrfs_job_key(mp), [mp, ro, job_ctx = ctx](engine::JobHandle& h) {
                                  return json(engine::scrub_run_recorded(job_ctx, mp, ro, job_progress(h),
                                                                         h.cancel_flag(), h.id()));
                                }, {}, true};
               })});
  r.add(Method{"storage.scrub_status", "Scrub state of a mounted btrfs with its counters",
               "running (live counters), finished/cancelled/failed (last scrub run by this daemon, or recorded in "
               "the state directory by an earlier run; interrupted when that run died mid-scrub), or none.",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}), scrub_schema(), false,
               [](const json& p, engine::Context& ctx) -> json {
                 return engine::scrub_status_recorded(ctx, p["mount_point"]);
               }});
  r.add(Method{"storage.scrub_cancel", "Cancel the running scrub of a mounted btrfs",
               "Error -32002 when no scrub runs. Returns the state just before cancelling.",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}), scrub_schema(), true,
               [](const json& p, engine::Context& ctx) -> json {
                 std::string mp = p["mount_point"];
                 return bt::scrub_cancel(mp, ctx, [&ctx, mp] { return cancel_jobs(ctx, "scrub", mp); });
               }});
  r.add(Method{"storage.balance_start", "Balance a mounted btrfs, optionally converting its profile (a job)",
               "convert applies to data, metadata and system chunks; lowering metadata redundancy needs force. "
               "Progress in chunks.",
               obj_schema({{"mount_point", mount_point_param()},
                           {"convert", {{"type", "string"},
                                        {"enum", {"single", "dup", "raid0", "raid1", "raid10", "raid1c3", "raid1c4",
                                                  "raid5", "raid6"}},
                                        {"description", "target profile"}}},
                           {"force", bool_schema("allow lowering metadata redundancy")},
                           {"background", background_param()}},
                          {"mount_point"}),
               job_result_schema(balance_schema()), true, nullptr,
               job_method([](const json& p, engine::Context& ctx) {
                 bt::BalanceRequest req{p["mount_point"], opt_string(p, "convert"), p.value("force", false)};
                 bt::balance_check_can_start(req, ctx);
                 return JobCall{"balance", req.mount_point, engine::btrfs_job_key(req.mount_point),
                                [req, job_ctx = ctx](engine::JobHandle& h) {
                                  return json(bt::balance_run(req, job_ctx, job_progress(h), h.cancel_flag()));
                                }, {}, true};
               })});
  r.add(Method{"storage.balance_status", "Balance state of a mounted btrfs (running, paused, idle)", "",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}), balance_schema(), false,
               [](const json& p, engine::Context& ctx) -> json { return bt::balance_status(p["mount_point"], ctx); }});
  r.add(Method{"storage.balance_cancel", "Cancel the running or paused balance of a mounted btrfs",
               "Error -32002 when no balance is in progress; waits until the kernel stopped it.",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}), balance_schema(), true,
               [](const json& p, engine::Context& ctx) -> json {
                 std::string mp = p["mount_point"];
                 return bt::balance_cancel(mp, ctx, [&ctx, mp] { return cancel_jobs(ctx, "balance", mp); });
               }});
}

void register_maintenance_methods(Registry& r) {
  r.add(Method{"storage.defrag", "Defragment a file or directory tree on btrfs (a job)",
               "Recursive; stays on the filesystem and subvolume of path; symlinks are not followed. "
               "Progress counts files.",
               obj_schema({{"path", str_schema("file or directory on a mounted btrfs")}, {"background", background_param()}},
                          {"path"}),
               job_result_schema(object_result("files defragmented", {{"files_defragmented", int_prop()},
                                                                      {"files_failed", int_prop()},
                                                                      {"bytes", int_prop()}})),
               true, nullptr,
               job_method([](const json& p, engine::Context& ctx) {
                 std::string path = p["path"];
                 bt::defrag_check_can_start(path, ctx);
                 return JobCall{"defrag", path, engine::btrfs_job_key(path),
                                [path, job_ctx = ctx](engine::JobHandle& h) {
                                  return json(bt::defrag(path, job_ctx, job_progress(h), h.cancel_flag()));
                                }};
               })});
  r.add(Method{"storage.resize_max", "Grow every device of a mounted btrfs to its full size", "",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}),
               {{"type", "array"}, {"items", object_result("device", {{"devid", int_prop()},
                                                                       {"old_size_bytes", int_prop()},
                                                                       {"new_size_bytes", int_prop()}})}},
               true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::resize_max(p["mount_point"], ctx);
               }});
  auto device_change = object_result("membership after the change", {{"devid", {{"type", json::array({"integer", "null"})}}},
                                                                     {"num_devices", int_prop()}});
  r.add(Method{"storage.add_device", "Add a device to a mounted btrfs",
               "The device must be allowed, unused and carry no signature (unless force; never when mounted or held).",
               obj_schema({{"mount_point", mount_point_param()},
                           {"device", str_schema("block device to add")},
                           {"force", bool_schema("accept a device that carries a signature")}},
                          {"mount_point", "device"}),
               device_change, true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::add_device(p["mount_point"], p["device"], p.value("force", false), ctx);
               }});
  r.add(Method{"storage.remove_device", "Remove a device (path or devid) from a mounted btrfs",
               "Its chunks are moved to the other devices first; refused below the profile's minimum.",
               obj_schema({{"mount_point", mount_point_param()}, {"device", str_schema("member path or devid")}},
                          {"mount_point", "device"}),
               device_change, true, [](const json& p, engine::Context& ctx) -> json {
                 return bt::remove_device(p["mount_point"], p["device"], ctx);
               }});
}

void register_usage_methods(Registry& r) {
  r.add(Method{"storage.device_stats", "Per-device error counters (btrfs device stats)", "",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}),
               {{"type", "array"}, {"items", object_result("device counters", {{"devid", int_prop()},
                                                                                {"path", str_prop()},
                                                                                {"write_io_errs", int_prop()},
                                                                                {"read_io_errs", int_prop()},
                                                                                {"flush_io_errs", int_prop()},
                                                                                {"corruption_errs", int_prop()},
                                                                                {"generation_errs", int_prop()}})}},
               false, [](const json& p, engine::Context& ctx) -> json { return bt::device_stats(p["mount_point"], ctx); }});
  r.add(Method{"storage.fs_usage", "Space usage, the figures of `btrfs filesystem usage -b`", "",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}),
               object_result("overall figures, per profile and per device",
                             {{"device_size", int_prop()}, {"device_allocated", int_prop()}, {"used", int_prop()},
                              {"free_estimated", int_prop()}, {"groups", {{"type", "array"}}},
                              {"unallocated", {{"type", "array"}}}}),
               false, [](const json& p, engine::Context& ctx) -> json { return bt::fs_usage(p["mount_point"], ctx); }});
  r.add(Method{"storage.fs_df", "Space per block-group type and profile (`btrfs filesystem df -b`)", "",
               obj_schema({{"mount_point", mount_point_param()}}, {"mount_point"}),
               object_result("groups", {{"groups", {{"type", "array"}}}}), false,
               [](const json& p, engine::Context& ctx) -> json { return bt::fs_df(p["mount_point"], ctx); }});
}

}  // namespace

void register_btrfs_methods(Registry& r) {
  register_subvolume_methods(r);
  register_scrub_balance_methods(r);
  register_maintenance_methods(r);
  register_usage_methods(r);
}

}  // namespace mos::rpc
