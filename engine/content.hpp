// Fills content facts (fstype/label/uuid, partition table, partition names and types) into
// discovered devices with our native prober and GPT reader: one short pass of small reads.
#pragma once
#include <vector>

#include "engine/devices.hpp"

namespace mos::engine {

void fill_content(std::vector<Device>& devices);

}  // namespace mos::engine
