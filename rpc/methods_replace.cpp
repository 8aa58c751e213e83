// storage.replace_disk: a new disk takes the place of a missing or failing one in a two-disk MOS
// node (engine/replace/). A job with progress; dry_run answers the plan at once.
#include "base/error.hpp"
#include "engine/device_key.hpp"
#include "engine/replace/replace.hpp"
#include "rpc/job_runner.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

json replace_plan_schema() {
  json step = {{"type", "object"},
               {"properties",
                {{"step", {{"type", "string"}, {"enum", {"gpt", "md-esp", "md-boot", "btrfs-replace", "balance", "swap"}}}},
                 {"action", {{"type", "string"}, {"enum", {"done", "run", "resume"}}}},
                 {"detail", plain("string")}}}};
  json part = {{"type", "object"},
               {"properties",
                {{"number", plain("integer")},
                 {"name", plain("string")},
                 {"type", plain("string")},
                 {"start_bytes", plain("integer")},
                 {"size_bytes", plain("integer")}}}};
  return {{"type", "object"},
          {"properties",
           {{"new", plain("string")},
            {"survivor", nullable("string")},
            {"failed", {{"type", "string"}, {"description", "the disk replaced, or \"missing\""}}},
            {"dry_run", plain("boolean")},
            {"resume", {{"type", "boolean"}, {"description", "the new disk carries an unfinished replacement of this node"}}},
            {"data_mount", nullable("string")},
            {"layout", {{"type", "array"}, {"items", part}}},
            {"steps", {{"type", "array"}, {"items", step}}},
            {"refusals", {{"type", "array"}, {"items", plain("string")}, {"description", "why it may not start (dry run)"}}},
            {"notes", strings()},
            {"done", {{"type", "array"}, {"items", plain("string")}, {"description", "what this run did"}}}}}};
}

engine::replace::ReplaceRequest request_of(const json& p) {
  engine::replace::ReplaceRequest req;
  req.new_disk = p.at("new");
  req.failed = p.value("failed", "missing");
  req.dry_run = p.value("dry_run", false);
  return req;
}

}  // namespace

void register_replace_methods(Registry& r) {
  auto as_job = job_method([](const json& p, engine::Context& ctx) {
    const auto req = request_of(p);
    const auto node = engine::replace::replace_check_can_start(req, ctx);
    return JobCall{"replace_disk", req.new_disk, engine::btrfs_job_key(node.data_mount),
                   [req, job_ctx = ctx](engine::JobHandle& h) {
                     return engine::replace::replace_disk(
                         req, job_ctx, [&h](uint64_t done, uint64_t total) { h.progress(done, total); }, h.cancel_flag());
                   }};
  });
  r.add(Method{
      "storage.replace_disk", "Replace the missing or failing disk of a two-disk MOS node by a blank one (a job)",
      "The new disk (blank rule, never forced) gets the survivor's partitions with new GUIDs, joins the md mirrors of "
      "mosefi and mosboot (the kernel rebuilds), replaces the missing or failed MOSDATA device (BTRFS_IOC_DEV_REPLACE, "
      "or device add + remove when replace cannot start), converts single-copy chunks back to RAID1 (balance "
      "convert=raid1,soft) and gets a new swap. Resumable: the same call finishes an unfinished replacement, each step "
      "judged from the disks. Progress: 6 steps of 1000 (gpt, md-esp, md-boot, btrfs-replace, balance, swap).",
      obj_schema({{"new", path_schema("the blank new disk (a whole disk)")},
                  {"failed", path_schema("the present member disk to replace, or \"missing\" (default)")},
                  {"dry_run", bool_schema("return the plan (remaining steps, refusals) without writing anything")},
                  {"background", bool_schema("return {job_id} at once instead of waiting for the result")}},
                 {"new"}),
      job_result_schema(replace_plan_schema()), true, nullptr,
      [as_job](const json& p, engine::Context& ctx, Reply reply) {
        if (!p.value("dry_run", false)) return as_job(p, ctx, reply);
        try {
          reply.result(engine::replace::replace_disk(request_of(p), ctx));
        } catch (const Error& e) {
          reply.fail(e);
        }
      }});
}

}  // namespace mos::rpc
