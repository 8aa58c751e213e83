// The ATA SMART data + thresholds parser and the verdict over raw bytes: the first 512 bytes are
// the data page, the next 512 the thresholds page (either may be short), the byte after them picks
// the overall status.
#include <cstdint>
#include <span>

#include "engine/health/ata_smart.hpp"
#include "engine/health/verdict.hpp"

using namespace mos::engine::health;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto page = in.subspan(0, std::min(size, kAtaSmartPageSize));
  auto thr = size > kAtaSmartPageSize ? in.subspan(kAtaSmartPageSize, std::min(size - kAtaSmartPageSize, kAtaSmartPageSize))
                                      : std::span<const uint8_t>{};
  auto parsed = parse_ata_smart(page, thr);
  if (!parsed) {
    if (size >= kAtaSmartPageSize) __builtin_trap();
    return 0;
  }
  if (parsed->attributes.size() > kAtaSmartAttributeSlots) __builtin_trap();
  std::optional<AtaOverall> overall;
  if (size > 2 * kAtaSmartPageSize) overall = (data[2 * kAtaSmartPageSize] & 1) ? AtaOverall::threshold_exceeded : AtaOverall::passed;
  auto v = judge_ata(*parsed, overall);
  for (const auto& a : parsed->attributes) {
    if (a.id == 0 || a.raw >> 48) __builtin_trap();
  }
  if (v.status == Status::unknown || (v.status == Status::ok) != v.reasons.empty()) __builtin_trap();
  return 0;
}
