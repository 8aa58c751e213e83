// swapon(2) / swapoff(2) for a block device holding a swap signature.
#pragma once
#include <string>

namespace mos::io {

// Activates swap on dev. Returns false when the kernel says it is already active (EBUSY);
// throws mos::Error naming the device otherwise.
bool swap_on(const std::string& dev);
// Deactivates swap on dev; throws naming it.
void swap_off(const std::string& dev);

}  // namespace mos::io
