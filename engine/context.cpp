#include "engine/context.hpp"

#include "base/error.hpp"
#include "engine/inventory/events.hpp"
#include "engine/jobs/jobs.hpp"

namespace mos::engine {

Jobs& Context::job_registry() const {
  if (!jobs) throw Error(ErrorCode::internal, "no job registry in this context");
  return *jobs;
}

void Context::publish(const Event& e) const {
  if (events) events->publish(e);
}

}  // namespace mos::engine
