// A write plan applied to an imaginary, initially all-zero device held in memory: reads see
// zero ranges as zeros and writes in plan order. Lets unit tests read back what a writer
// would put on a 32 GiB device without the device.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "base/write_plan.hpp"

namespace mos::test {

class PlanImage {
 public:
  explicit PlanImage(const mos::WritePlan& plan) : plan_(plan) {}

  void read(uint64_t offset, void* buf, size_t len) const {
    auto* out = static_cast<uint8_t*>(buf);
    std::memset(out, 0, len);
    for (const auto& step : plan_.steps)
      for (const auto& w : step.writes) {
        uint64_t lo = std::max(offset, w.offset), hi = std::min(offset + len, w.offset + w.data.size());
        if (lo < hi) std::memcpy(out + (lo - offset), w.data.data() + (lo - w.offset), hi - lo);
      }
  }
  std::vector<uint8_t> read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> v(len);
    read(offset, v.data(), len);
    return v;
  }

 private:
  const mos::WritePlan& plan_;
};

}  // namespace mos::test
