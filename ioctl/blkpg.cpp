#include "ioctl/blkpg.hpp"

#include <linux/blkpg.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <cstring>
#include <string>

#include "base/error.hpp"

namespace mos::io {

namespace {

void blkpg(const Fd& disk, int op, const char* opname, int number, uint64_t start, uint64_t length) {
  blkpg_partition part;
  std::memset(&part, 0, sizeof part);
  part.start = static_cast<long long>(start);
  part.length = static_cast<long long>(length);
  part.pno = number;
  blkpg_ioctl_arg arg;
  std::memset(&arg, 0, sizeof arg);
  arg.op = op;
  arg.datalen = sizeof part;
  arg.data = &part;
  // The kernel refuses to delete an open partition (EBUSY). Probers that open a partition for a
  // moment after its uevent (udev's blkid, a monitoring daemon) are waited for up to a second;
  // a partition that stays open (mounted, in use) still fails with the kernel's reason.
  constexpr int kBusyRetries = 50;
  int rc;
  for (int busy = 0;; ++busy) {
    rc = ioctl(disk.get(), BLKPG, &arg);
    if (rc == 0) break;
    if (errno == EINTR) continue;
    if (errno != EBUSY || op != BLKPG_DEL_PARTITION || busy >= kBusyRetries) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (rc < 0)
    throw_sys(std::string("ioctl BLKPG ") + opname + " partition " + std::to_string(number), disk.path(), errno);
}

}  // namespace

void blkpg_add_partition(const Fd& disk, int number, uint64_t start, uint64_t length) {
  blkpg(disk, BLKPG_ADD_PARTITION, "add", number, start, length);
}

void blkpg_delete_partition(const Fd& disk, int number) {
  blkpg(disk, BLKPG_DEL_PARTITION, "delete", number, 0, 0);
}

void blkpg_resize_partition(const Fd& disk, int number, uint64_t start, uint64_t length) {
  blkpg(disk, BLKPG_RESIZE_PARTITION, "resize", number, start, length);
}

void blk_reread_partitions(const Fd& disk) {
  if (ioctl(disk.get(), BLKRRPART) < 0) throw_sys("ioctl BLKRRPART", disk.path(), errno);
}

}  // namespace mos::io
