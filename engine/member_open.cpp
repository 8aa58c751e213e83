#include "engine/member_open.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "engine/policy.hpp"
#include "base/error.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {

OpenedMembers open_members_locked(const std::vector<Device>& devices, bool dry_run) {
  OpenedMembers out;
  std::vector<std::string> locked_disks;
  for (const auto& dev : devices) {
    out.fds.push_back(io::open_block(dev.path, dry_run ? O_RDONLY : (O_RDWR | O_EXCL)));
    std::string disk = dev.parent.value_or(dev.path);
    if (!dry_run && std::find(locked_disks.begin(), locked_disks.end(), disk) == locked_disks.end()) {
      io::Fd lock = dev.parent ? io::open_block(disk, O_RDONLY) : io::Fd();
      const io::Fd& lock_fd = lock.valid() ? lock : out.fds.back();
      if (::flock(lock_fd.get(), LOCK_EX) != 0) throw_sys("flock", lock_fd.path(), errno);
      locked_disks.push_back(disk);
      out.locks.push_back(std::move(lock));
    }
    out.facts.push_back(io::block_facts(out.fds.back()));
    refuse_read_only(dev.path, out.facts.back().read_only);
  }
  return out;
}

}  // namespace mos::engine
