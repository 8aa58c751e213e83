// storage.zero / storage.checksum: whole-device bulk work as jobs with progress.
#include "engine/device_key.hpp"
#include "engine/device_ops.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "rpc/job_runner.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {
namespace {

engine::BulkOptions bulk_options(engine::JobHandle& h) {
  engine::BulkOptions opts;
  opts.progress = [&h](uint64_t done, uint64_t total) { h.progress(done, total); };
  opts.cancel = h.cancel_flag();
  return opts;
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
               job_result_schema({{"type", "object"},
                               {"properties", {{"device", device_schema()}, {"bytes_zeroed", {{"type", "integer"}}}}}}),
               true, nullptr,
               job_method([](const json& p, engine::Context& ctx) {
                 bool force = p.value("force", false);
                 std::string path = engine::check_zero_allowed(p.at("device"), force, ctx);  // refuse before the job
                 // Keyed by the whole disk: an alias or another partition of it waits or is refused.
                 return JobCall{"zero", path, engine::device_job_key(path),
                                [path, force, job_ctx = ctx](engine::JobHandle& h) {
                                  return json(engine::zero_device(path, force, job_ctx, bulk_options(h)));
                                }};
               })});
  Method checksum{"storage.checksum", "xxHash of a whole device, identical to xxhsum's digest",
               "algo xxh64 = xxhsum -H1, xxh3 = -H3 (64-bit), xxh128 = -H2. Runs as a job like storage.zero. "
               "Reads the device's contents: uid 0 and the admin group only.",
               obj_schema({{"device", device_param()},
                           {"algo", {{"type", "string"}, {"enum", {"xxh64", "xxh3", "xxh128"}}, {"description", "hash"}}},
                           {"background", bool_schema("return {job_id} at once instead of waiting")}},
                          {"device", "algo"}),
               job_result_schema({{"type", "object"},
                               {"properties",
                                {{"device", {{"type", "string"}}},
                                 {"algo", {{"type", "string"}}},
                                 {"digest", {{"type", "string"}}},
                                 {"bytes", {{"type", "integer"}}}}}}),
               false, nullptr,
               job_method([](const json& p, engine::Context& ctx) {
                 engine::Algo algo = engine::parse_algo(p.at("algo").get<std::string>());
                 std::string path = engine::check_checksum_allowed(p.at("device"), ctx);  // refuse before the job
                 // Read-only: no exclusive key, runs alongside other jobs on the device.
                 return JobCall{"checksum", path, "", [path, algo, job_ctx = ctx](engine::JobHandle& h) {
                                  return json(engine::checksum_device(path, algo, job_ctx, bulk_options(h)));
                                }};
               })};
  checksum.reads_contents = true;  // a digest confirms any guess about a disk's data
  r.add(std::move(checksum));
}

}  // namespace mos::rpc
