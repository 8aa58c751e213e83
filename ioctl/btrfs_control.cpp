#include "ioctl/btrfs_control.hpp"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::io {
namespace {

btrfs_ioctl_vol_args vol_args(const std::string& device) {
  btrfs_ioctl_vol_args args{};
  if (device.size() > BTRFS_PATH_NAME_MAX)
    throw_validation("device path is longer than " + std::to_string(BTRFS_PATH_NAME_MAX) + " bytes", device);
  std::memcpy(args.name, device.data(), device.size());
  return args;
}

}  // namespace

void btrfs_scan_device(const std::string& device) {
  auto args = vol_args(device);
  Fd control = Fd::open(kBtrfsControl, O_RDWR | O_CLOEXEC);
  if (ioctl(control.get(), BTRFS_IOC_SCAN_DEV, &args) < 0) throw_sys("ioctl BTRFS_IOC_SCAN_DEV", device, errno);
}

}  // namespace mos::io
