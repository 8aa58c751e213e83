// swapon(2) / swapoff(2).
#include "ioctl/swap_control.hpp"

#include <sys/swap.h>

#include <cerrno>

#include "base/error.hpp"

namespace mos::io {

bool swap_on(const std::string& dev) {
  if (::swapon(dev.c_str(), 0) == 0) return true;
  if (errno == EBUSY) return false;
  throw_sys("swapon", dev, errno);
}

void swap_off(const std::string& dev) {
  if (::swapoff(dev.c_str()) != 0) throw_sys("swapoff", dev, errno);
}

}  // namespace mos::io
