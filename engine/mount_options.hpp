// Which mount options a caller may ask for (issue 11 item 5): a per-filesystem allow list, and
// nosuid,nodev unless a privileged request asks for suid or dev explicitly.
#pragma once
#include <string>

#include "ioctl/mount.hpp"

namespace mos::engine {

// Splits `options` (io::split_mount_options) after checking every item against the generic and
// the `fstype` allow lists; refuses unknown or dangerous ones (errors=panic, btrfs device=)
// naming the option. The result carries nosuid and nodev unless `privileged` and asked for.
io::SplitOptions checked_mount_options(const std::string& fstype, const std::string& options, bool privileged);

}  // namespace mos::engine
