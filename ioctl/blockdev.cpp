#include "ioctl/blockdev.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "base/error.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::io {

BlockFacts block_facts(const Fd& fd) {
  BlockFacts f;
  if (ioctl(fd.get(), BLKGETSIZE64, &f.size_bytes) < 0) throw_sys("ioctl BLKGETSIZE64", fd.path(), errno);
  int ssz = 0;
  if (ioctl(fd.get(), BLKSSZGET, &ssz) < 0) throw_sys("ioctl BLKSSZGET", fd.path(), errno);
  f.logical_sector_size = static_cast<uint32_t>(ssz);
  // A loop device over a file of 4 GiB + 512 bytes with 4096-byte sectors reports the odd size,
  // but no I/O can address a partial logical sector: the usable size ends at the last whole one.
  if (ssz > 0) f.size_bytes -= f.size_bytes % static_cast<uint64_t>(ssz);
  unsigned int pbsz = 0;
  if (ioctl(fd.get(), BLKPBSZGET, &pbsz) < 0) throw_sys("ioctl BLKPBSZGET", fd.path(), errno);
  f.physical_sector_size = pbsz;
  unsigned int iopt = 0;
  if (ioctl(fd.get(), BLKIOOPT, &iopt) < 0) throw_sys("ioctl BLKIOOPT", fd.path(), errno);
  f.optimal_io_size = iopt;
  int ro = 0;
  if (ioctl(fd.get(), BLKROGET, &ro) < 0) throw_sys("ioctl BLKROGET", fd.path(), errno);
  f.read_only = ro != 0;
  return f;
}

bool is_block_device(const Fd& fd) {
  struct stat st {};
  if (fstat(fd.get(), &st) < 0) throw_sys("fstat", fd.path(), errno);
  return S_ISBLK(st.st_mode);
}

std::pair<unsigned, unsigned> block_devnum(const Fd& fd) {
  struct stat st {};
  if (fstat(fd.get(), &st) < 0) throw_sys("fstat", fd.path(), errno);
  if (!S_ISBLK(st.st_mode)) throw Error(ErrorCode::validation, fd.path() + " is not a block device", fd.path());
  return {major(st.st_rdev), minor(st.st_rdev)};
}

QueueLimits queue_limits(unsigned maj, unsigned min) {
  std::string q = "/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min) + "/queue/";
  // Partitions have no queue/ of their own; the parent disk's applies.
  if (!sysfs_exists(q)) q = "/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min) + "/../queue/";
  QueueLimits l;
  l.write_zeroes_max_bytes = sysfs_u64(q + "write_zeroes_max_bytes").value_or(0);
  l.discard_max_bytes = sysfs_u64(q + "discard_max_bytes").value_or(0);
  l.discard_zeroes_data = sysfs_u64(q + "discard_zeroes_data").value_or(0) != 0;
  l.rotational = sysfs_u64(q + "rotational").value_or(0) != 0;
  return l;
}

void blk_zeroout(const Fd& fd, uint64_t offset, uint64_t len) {
  uint64_t range[2] = {offset, len};
  if (ioctl(fd.get(), BLKZEROOUT, range) < 0) throw_sys("ioctl BLKZEROOUT", fd.path(), errno);
}

void blk_flush_buffers(const Fd& fd) {
  if (ioctl(fd.get(), BLKFLSBUF, 0) < 0) throw_sys("ioctl BLKFLSBUF", fd.path(), errno);
}

}  // namespace mos::io
