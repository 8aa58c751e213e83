// storage.jobs / storage.job_cancel: long-running operations and their progress.
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "rpc/registry.hpp"
#include "rpc/schemas.hpp"

namespace mos::rpc {

void register_jobs_methods(Registry& r) {
  Method jobs{"storage.jobs", "Running and finished long operations with progress",
               "Without id: every job. With id: that job (error -32002 if unknown).",
               obj_schema({{"id", int_schema("job id", 1, kMaxJobId)}}),
               {{"oneOf", json::array({job_schema(), {{"type", "array"}, {"items", job_schema()}}})}}, false,
               [](const json& p, engine::Context& ctx) -> json {
                 auto& jobs = ctx.job_registry();
                 if (p.contains("id")) {
                   auto j = jobs.get(engine::json_integer<uint64_t>(p, "id"));
                   if (!j) throw Error(ErrorCode::not_found, "no job with id " + p["id"].dump());
                   return *j;
                 }
                 return jobs.list();
               }};
  jobs.path = Path::memory;  // the job table under its lock: answered on the daemon's I/O thread
  r.add(std::move(jobs));
  r.add(Method{"storage.job_cancel", "Request cancellation of a running job",
               "Returns {cancelled: false} when the job had already ended.",
               obj_schema({{"id", int_schema("job id", 1, kMaxJobId)}}, {"id"}),
               {{"type", "object"}, {"properties", {{"cancelled", {{"type", "boolean"}}}}}}, true,
               [](const json& p, engine::Context& ctx) -> json {
                 return {{"cancelled", ctx.job_registry().cancel(engine::json_integer<uint64_t>(p, "id"))}};
               }});
}

}  // namespace mos::rpc
