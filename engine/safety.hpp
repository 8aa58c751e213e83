// The safety gate in front of every destructive operation (new partition table, mkfs, wipe,
// zero): refuse mounted or held devices always, and devices carrying any known signature or
// partition table unless forced.
#pragma once
#include <string>

#include "engine/devices.hpp"

namespace mos::engine {

// Throws -32001 with the reason (mounted at X, held by Y, active swap, btrfs member,
// exclusively opened by the kernel, carries a signature). Returns the device as discovered.
Device require_unused(const std::string& device_path, bool force);

// Only the "in use" half: mounted, held, swap, busy (ignores signatures).
void require_not_in_use(const Device& d);

}  // namespace mos::engine
