// Which mount options a caller may ask for: the generic ones, the filesystem's own allow list (its
// entry in engine/fstypes.hpp), and nosuid,nodev unless a privileged request asks for suid or dev.
#pragma once
#include <string>

#include "ioctl/mount.hpp"

namespace mos::engine {

// Splits `options` (io::split_mount_options) after checking every item against the generic and
// the `fstype` allow lists; refuses unknown or dangerous ones (errors=panic, btrfs device=)
// naming the option. The result carries nosuid and nodev unless `privileged` and asked for.
io::SplitOptions checked_mount_options(const std::string& fstype, const std::string& options, bool privileged);

}  // namespace mos::engine
