// What holds a volume, so it is not removed under its user: a loop device backed by the image
// (matched by device and inode, whatever path attached it), a mount inside an fs volume, or a
// mount of the volume's subvolume elsewhere (mountinfo's root, any btrfs: a false match only
// refuses).
#pragma once
#include <optional>
#include <string>

#include "ioctl/fd.hpp"

namespace mos::engine::volumes {

// A description of the first holder ("attached to /dev/loop3", "mounted at /srv/x"), or nullopt.
std::optional<std::string> holder_of(const io::Fd& entry, bool is_fs);

// The loop device whose backing file is `entry` (same st_dev and st_ino), or nullopt.
std::optional<std::string> attached_loop(const io::Fd& entry);

}  // namespace mos::engine::volumes
