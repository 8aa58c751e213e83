#include "rpc/job_runner.hpp"

#include "base/error.hpp"
#include "rpc/call.hpp"

namespace mos::rpc {

void run_job(engine::Context& ctx, bool background, JobCall call, Reply reply) {
  engine::Jobs::Spec spec{call.kind, call.target, call.exclusive_key, std::move(call.fn), std::move(call.on_cancel)};
  spec.owner_uid = current_call().caller.uid;  // in-process callers are uid 0: no per-user share
  if (!background) {
    spec.on_done = [reply, kind = call.kind, target = call.target,
                    keep = call.result_when_cancelled](const engine::JobInfo& done) {
      if (done.state == "succeeded" || (keep && done.state == "cancelled" && !done.result.is_null()))
        return reply.result(done.result);
      int code = done.error_code.value_or(static_cast<int>(ErrorCode::storage_failed));
      reply.fail(Error(static_cast<ErrorCode>(code), done.error.value_or(kind + " job " + done.state), target));
    };
  }
  uint64_t id = ctx.job_registry().submit(std::move(spec));
  if (background) reply.result({{"job_id", id}});
}

std::function<void(const json&, engine::Context&, Reply)> job_method(
    std::function<JobCall(const json& params, engine::Context& ctx)> prepare) {
  return [prepare = std::move(prepare)](const json& p, engine::Context& ctx, Reply reply) {
    try {
      run_job(ctx, p.value("background", false), prepare(p, ctx), reply);
    } catch (const Error& e) {
      reply.fail(e);
    } catch (const std::exception& e) {
      reply.fail(Error(ErrorCode::internal, e.what()));
    }
  };
}

json job_result_schema(json result) {
  return {{"oneOf", json::array({std::move(result),
                                 {{"type", "object"},
                                  {"description", "with background: the job id"},
                                  {"properties", {{"job_id", {{"type", "integer"}}}}}}})}};
}

}  // namespace mos::rpc
