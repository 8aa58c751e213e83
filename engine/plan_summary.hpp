// What a WritePlan writes, as every method that writes reports it (dry run or not): partition
// table edits, wipe, repair, create_filesystem, create_raid, raid_add_member. Per step the zeroed
// and written ranges, at most kListedRangesPerStep of them (an ext4 of terabytes plans thousands;
// the rest are counted), and the byte totals of the whole plan.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/write_plan.hpp"
#include "engine/json.hpp"

namespace mos::engine {

inline constexpr size_t kListedRangesPerStep = 256;

struct PlanRange {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string what;
};
struct PlanStepSummary {
  std::string name;
  std::vector<PlanRange> zeroes, writes;
  size_t omitted = 0;  // ranges beyond the listing limit (counted, not listed)
};
struct PlanSummary {
  std::string name;
  std::vector<PlanStepSummary> steps;
  uint64_t bytes_written = 0;
  uint64_t bytes_zeroed = 0;
};
// {"name", "steps": [{"name", "zeroes": [{"offset", "length", "what"}], "writes": [...],
// "omitted"}], "bytes_written", "bytes_zeroed"}
void to_json(json& j, const PlanSummary& p);
PlanSummary summarize_plan(const mos::WritePlan& plan);

}  // namespace mos::engine
