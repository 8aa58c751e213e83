#include "bench/bench.hpp"

namespace mos::bench {

std::vector<Scenario> all_scenarios(const Config& cfg) {
  std::vector<Scenario> all;
  add_zero_scenarios(all, cfg);
  add_checksum_scenarios(all, cfg);
  add_gpt_scenarios(all, cfg);
  add_format_scenarios(all, cfg);
  add_firstboot_scenarios(all, cfg);
  add_cli_scenarios(all, cfg);
  add_volume_scenarios(all, cfg);
  add_volume_io_scenarios(all, cfg);
  return all;
}

}  // namespace mos::bench
