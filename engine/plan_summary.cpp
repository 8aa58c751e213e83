#include "engine/plan_summary.hpp"

namespace mos::engine {

PlanSummary summarize_plan(const mos::WritePlan& plan) {
  PlanSummary s{plan.name, {}, plan.bytes_written(), plan.bytes_zeroed()};
  for (const auto& step : plan.steps) {
    PlanStepSummary st{step.name, {}, {}, 0};
    for (const auto& z : step.zeroes) {
      if (st.zeroes.size() + st.writes.size() < kListedRangesPerStep) st.zeroes.push_back({z.offset, z.length, z.what});
      else ++st.omitted;
    }
    for (const auto& w : step.writes) {
      if (st.zeroes.size() + st.writes.size() < kListedRangesPerStep) st.writes.push_back({w.offset, w.data.size(), w.what});
      else ++st.omitted;
    }
    s.steps.push_back(std::move(st));
  }
  return s;
}

void to_json(json& j, const PlanSummary& p) {
  auto ranges = [](const std::vector<PlanRange>& rs) {
    json a = json::array();
    for (const auto& r : rs) a.push_back({{"offset", r.offset}, {"length", r.length}, {"what", r.what}});
    return a;
  };
  json steps = json::array();
  for (const auto& s : p.steps)
    steps.push_back({{"name", s.name}, {"zeroes", ranges(s.zeroes)}, {"writes", ranges(s.writes)}, {"omitted", s.omitted}});
  j = json{{"name", p.name}, {"steps", steps}, {"bytes_written", p.bytes_written}, {"bytes_zeroed", p.bytes_zeroed}};
}

}  // namespace mos::engine
