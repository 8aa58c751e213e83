#include "engine/context.hpp"

#include "base/error.hpp"
#include "engine/jobs/jobs.hpp"

namespace mos::engine {

Jobs& Context::job_registry() const {
  if (!jobs) throw Error(ErrorCode::internal, "no job registry in this context");
  return *jobs;
}

}  // namespace mos::engine
