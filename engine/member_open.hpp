// Opening the devices an operation is about to write (filesystem members, md members): each
// exclusively, under LOCK_EX on its whole-disk node (the udev convention), one lock per disk.
#pragma once
#include <vector>

#include "engine/inventory/devices.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {

struct OpenedMembers {
  std::vector<io::Fd> fds;             // one per device, in order (O_RDONLY for a dry run)
  std::vector<io::Fd> locks;           // whole-disk nodes holding the flock (invalid: fds[i] holds it)
  std::vector<io::BlockFacts> facts;   // one per device
  // Closes everything (the kernel may claim the devices next).
  void release() {
    fds.clear();
    locks.clear();
  }
};

// Members on one disk share the lock (a second flock on another open file would deadlock).
// Throws -32001 for a read-only device. A dry run opens read-only and locks nothing.
OpenedMembers open_members_locked(const std::vector<Device>& devices, bool dry_run);

}  // namespace mos::engine
