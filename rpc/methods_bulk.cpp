// storage.zero / storage.checksum: whole-device bulk work as jobs with progress.
#include "engine/device_ops.hpp"
#include "engine/jobs.hpp"
#include "ioctl/error.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

using Work = std::function<json(const engine::BulkOptions&)>;

// Runs work as a job (progress, cancel); background returns {job_id} at once, otherwise waits
// and returns the result or rethrows the job's error with its code.
json run_as_job(engine::Context& ctx, bool background, const std::string& kind, const std::string& target, Work work) {
  auto& jobs = ctx.job_registry();
  uint64_t id = jobs.start(kind, target, [work](engine::JobHandle& h) {
    engine::BulkOptions opts;
    opts.progress = [&h](uint64_t done, uint64_t total) { h.progress(done, total); };
    opts.cancel = h.cancel_flag();
    return work(opts);
  });
  if (background) return {{"job_id", id}};
  engine::JobInfo info = jobs.wait(id);
  if (info.state == "succeeded") return info.result;
  throw Error(static_cast<ErrorCode>(info.error_code.value_or(static_cast<int>(ErrorCode::storage_failed))),
              info.error.value_or(kind + " job " + info.state), target);
}

json job_started_or(json result) {
  return {{"oneOf", json::array({std::move(result),
                                 {{"type", "object"}, {"properties", {{"job_id", {{"type", "integer"}}}}}}})}};
}

json device_param() {
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", 4096}, {"description", "block device"}};
}

}  // namespace

void register_bulk_methods(Registry& r) {
  r.add(Method{"storage.zero", "Write zeroes over a whole device (io_uring, offloaded where possible)",
               "Refuses mounted or held devices always and devices carrying a signature unless force. "
               "Runs as a job: background:true returns {job_id} (progress in storage.jobs), otherwise waits.",
               obj_schema({{"device", device_param()},
                           {"force", bool_schema("zero a device that carries a signature or partition table")},
                           {"background", bool_schema("return {job_id} at once instead of waiting")}},
                          {"device"}),
               job_started_or({{"type", "object"},
                               {"properties", {{"device", device_schema()}, {"bytes_zeroed", {{"type", "integer"}}}}}}),
               true, [](const json& p, engine::Context& ctx) {
                 bool force = p.value("force", false);
                 std::string path = engine::check_zero_allowed(p.at("device"), force, ctx);  // refuse before the job
                 engine::Context job_ctx{ctx.policy, ctx.run_dir, nullptr};
                 return run_as_job(ctx, p.value("background", false), "zero", path,
                                   [path, force, job_ctx](const engine::BulkOptions& o) {
                                     return json(engine::zero_device(path, force, job_ctx, o));
                                   });
               }});
  r.add(Method{"storage.checksum", "xxHash of a whole device, identical to xxhsum's digest",
               "algo xxh64 = xxhsum -H1, xxh3 = -H3 (64-bit), xxh128 = -H2. Runs as a job like storage.zero.",
               obj_schema({{"device", device_param()},
                           {"algo", {{"type", "string"}, {"enum", {"xxh64", "xxh3", "xxh128"}}, {"description", "hash"}}},
                           {"background", bool_schema("return {job_id} at once instead of waiting")}},
                          {"device", "algo"}),
               job_started_or({{"type", "object"},
                               {"properties",
                                {{"device", {{"type", "string"}}},
                                 {"algo", {{"type", "string"}}},
                                 {"digest", {{"type", "string"}}},
                                 {"bytes", {{"type", "integer"}}}}}}),
               false, [](const json& p, engine::Context& ctx) {
                 engine::Algo algo = engine::parse_algo(p.at("algo").get<std::string>());
                 std::string path = engine::check_checksum_allowed(p.at("device"), ctx);  // refuse before the job
                 engine::Context job_ctx{ctx.policy, ctx.run_dir, nullptr};
                 return run_as_job(ctx, p.value("background", false), "checksum", path,
                                   [path, algo, job_ctx](const engine::BulkOptions& o) {
                                     return json(engine::checksum_device(path, algo, job_ctx, o));
                                   });
               }});
}

}  // namespace mos::rpc
