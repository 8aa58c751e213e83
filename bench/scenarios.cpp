#include "bench/bench.hpp"

namespace mos::bench {

std::vector<Scenario> all_scenarios(const Config& cfg) {
  std::vector<Scenario> all;
  add_zero_scenarios(all, cfg);
  add_checksum_scenarios(all, cfg);
  add_format_scenarios(all, cfg);  // ext4 lazy/full_init vs mkfs.ext4: add in scenario_format.cpp
  return all;
}

}  // namespace mos::bench
