#include "bench/bench.hpp"

namespace mos::bench {

std::vector<Scenario> all_scenarios(const Config& cfg) {
  std::vector<Scenario> all;
  add_zero_scenarios(all, cfg);
  add_checksum_scenarios(all, cfg);
  // Format scenarios (ext4 lazy/full_init vs mkfs.ext4, FAT32 vs mkfs.vfat, swap vs mkswap) go
  // here as add_format_scenarios(all, cfg) once the fsmake writers are on main.
  return all;
}

}  // namespace mos::bench
