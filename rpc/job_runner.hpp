// The one way an RPC method runs a long operation: it becomes a job on the engine's scheduler;
// with background:true the caller gets {job_id} at once, otherwise the reply is sent when the job
// ends (from the scheduler's completion callback, so no request worker waits for it).
#pragma once
#include <functional>
#include <string>

#include "engine/jobs/jobs.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {

struct JobCall {
  std::string kind;           // "zero", "scrub", ...
  std::string target;         // device or mount point, as shown in storage.jobs
  std::string exclusive_key;  // set for mutating work: one job per key at a time (see engine/jobs/jobs.hpp)
  engine::Jobs::Fn fn;
  std::function<void()> on_cancel = {};
  // A cancelled job that still produced a result (scrub, balance counters) answers with it.
  bool result_when_cancelled = false;
};

// Submits the job and answers reply: {job_id} at once when background, else the job's result or
// its error (with the job's code) when it ends. Refusals by the scheduler (busy) fail the reply.
void run_job(engine::Context& ctx, bool background, JobCall call, Reply reply);

// A Method::deferred for a job method: prepare() validates and refuses synchronously (its
// mos::Error fails the call, nothing started), then the job runs via run_job; params.background.
std::function<void(const json&, engine::Context&, Reply)> job_method(
    std::function<JobCall(const json& params, engine::Context& ctx)> prepare);

// {"oneOf": [result, {job_id}]}: the result schema of a job method.
json job_result_schema(json result);

}  // namespace mos::rpc
