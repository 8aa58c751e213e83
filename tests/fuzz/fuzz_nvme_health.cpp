// The NVMe SMART / Health log parser and the verdict over raw bytes.
#include <cstdint>
#include <span>

#include "engine/health/nvme_health.hpp"
#include "engine/health/verdict.hpp"

using namespace mos::engine::health;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = parse_nvme_health(std::span<const uint8_t>(data, size));
  if (!parsed) {
    if (size >= kNvmeHealthLogSize) __builtin_trap();
    return 0;
  }
  auto v = judge_nvme(*parsed);
  if (v.status == Status::unknown || (v.status == Status::ok) != v.reasons.empty()) __builtin_trap();
  if (parsed->critical_warning & (kNvmeWarnSpare | kNvmeWarnReliability | kNvmeWarnReadOnly)) {
    if (v.status != Status::failing) __builtin_trap();
  }
  return 0;
}
