#include "ioctl/uevent.hpp"

#include "base/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::io {

void emit_change_uevent(const std::string& block_name) {
  if (block_name.empty() || block_name.find('/') != std::string::npos || block_name[0] == '.')
    throw_validation("'" + block_name + "' is not a block device name");
  sysfs_write("/sys/class/block/" + block_name + "/uevent", "change");
}

}  // namespace mos::io
