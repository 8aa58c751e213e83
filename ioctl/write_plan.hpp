// A write plan: the bytes a format writer wants on a device, in crash-safe order.
// Format code (gpt/, fsmake/, mdraid/) builds plans and never writes; the engine applies them
// (or, with dry_run, shows them). Steps apply in order: zero ranges, then writes, then a flush,
// so "backup copy, flush, primary copy, flush" is expressed as two steps.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mos::io {

struct PlannedWrite {
  uint64_t offset = 0;
  std::vector<uint8_t> data;
  std::string what;  // e.g. "GPT backup header (LBA 2097151)"
};

struct PlannedZero {
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string what;
};

struct PlanStep {
  std::string name;  // stable; crash point "<plan>:after-<step>" fires after this step's flush
  std::vector<PlannedZero> zeroes;
  std::vector<PlannedWrite> writes;
};

struct WritePlan {
  std::string name;  // e.g. "gpt", "ext4"
  std::vector<PlanStep> steps;

  PlanStep& step(std::string step_name) {
    steps.push_back(PlanStep{std::move(step_name), {}, {}});
    return steps.back();
  }
  uint64_t bytes_written() const {
    uint64_t n = 0;
    for (auto& s : steps)
      for (auto& w : s.writes) n += w.data.size();
    return n;
  }
  uint64_t bytes_zeroed() const {
    uint64_t n = 0;
    for (auto& s : steps)
      for (auto& z : s.zeroes) n += z.length;
    return n;
  }
};

}  // namespace mos::io
