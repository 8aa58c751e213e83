// Synthetic uevents: writing "change" to /sys/class/block/NAME/uevent makes udev re-probe the
// device and refresh /dev/disk/by-* links after we changed its partitions or signatures.
#pragma once
#include <string>

namespace mos::io {

// `block_name` is the kernel name ("loop3", "loop3p1", "nvme0n1"); throws on failure.
void emit_change_uevent(const std::string& block_name);

}  // namespace mos::io
