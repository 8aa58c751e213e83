// Fills content facts (fstype/label/uuid, partition table, partition names and types) into
// discovered devices with our native prober and GPT reader: one short pass of small reads.
#pragma once
#include <vector>

#include "engine/inventory/devices.hpp"

namespace mos::fsmake {
struct ProbeResult;
}

namespace mos::engine {

void fill_content(std::vector<Device>& devices);

// The same for one device probed already (a caller holding it, with its windows read once):
// the probe's facts, and for a partition its name and type from the disk's GPT.
void fill_content_from(Device& d, const fsmake::ProbeResult& r);

// The reverse: a discovered device's content facts as a probe result (what the gates describe).
fsmake::ProbeResult probe_result_of(const Device& d);

}  // namespace mos::engine
