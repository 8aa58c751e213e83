#include "ioctl/loop.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "base/error.hpp"
#include "ioctl/blkpg.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::io {

namespace {

std::string node_name(const std::string& dev_path) { return dev_path.substr(dev_path.rfind('/') + 1); }

// Partitions added with BLKPG survive LOOP_CLR_FD on a loop device without LO_FLAGS_PARTSCAN
// (the kernel only drops them when it scanned them itself), and would then show up, stale,
// on the next attachment of the same loop number. Remove them explicitly; best effort.
void drop_partitions(const Fd& loop, const std::string& dev_path) {
  const std::string name = node_name(dev_path);
  const std::string dir = "/sys/class/block/" + name;
  for (const auto& entry : list_dir(dir)) {
    if (entry.size() <= name.size() || entry.compare(0, name.size(), name) != 0) continue;  // attributes
    auto number = sysfs_u64(dir + "/" + entry + "/partition");
    if (!number) continue;
    try {
      blkpg_delete_partition(loop, static_cast<int>(*number));
    } catch (const Error&) {
    }
  }
}

}  // namespace

std::string loop_attach(const Fd& backing, const std::string& name, const LoopOptions& opts) {
  Fd ctl = Fd::open("/dev/loop-control", O_RDWR);
  for (int attempt = 0; attempt < 64; ++attempt) {
    int nr = ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (nr < 0) throw_sys("ioctl LOOP_CTL_GET_FREE", "/dev/loop-control", errno);
    std::string dev = "/dev/loop" + std::to_string(nr);
    Fd loop;
    try {
      loop = Fd::open(dev, O_RDWR);
    } catch (const Error&) {
      // The node may not exist yet right after the kernel allocated the device.
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    loop_config cfg;
    std::memset(&cfg, 0, sizeof cfg);
    cfg.fd = static_cast<__u32>(backing.get());
    cfg.block_size = opts.sector_size;
    if (opts.direct_io) cfg.info.lo_flags |= LO_FLAGS_DIRECT_IO;
    if (opts.read_only) cfg.info.lo_flags |= LO_FLAGS_READ_ONLY;
    if (opts.autoclear) cfg.info.lo_flags |= LO_FLAGS_AUTOCLEAR;
    cfg.info.lo_offset = opts.offset;
    cfg.info.lo_sizelimit = opts.size_limit;
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), name.c_str(), LO_NAME_SIZE - 1);
    if (ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) {
      drop_partitions(loop, dev);  // left behind by an earlier user of this loop number
      return dev;
    }
    int err = errno;
    if (err == EBUSY) continue;  // another process configured this one first
    throw_sys("ioctl LOOP_CONFIGURE", dev, err);
  }
  throw Error(ErrorCode::storage_failed, "no free loop device after 64 attempts", backing.path(), EBUSY);
}

void loop_detach(const std::string& dev_path) {
  Fd loop = Fd::open(dev_path, O_RDONLY);
  drop_partitions(loop, dev_path);
  for (int attempt = 0;; ++attempt) {
    if (ioctl(loop.get(), LOOP_CLR_FD, 0) == 0) return;
    int err = errno;
    if (err == ENXIO) return;  // already detached
    // EBUSY while udev or blkid still has it open: retry for up to ~2 s.
    if (err == EBUSY && attempt < 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    throw_sys("ioctl LOOP_CLR_FD", dev_path, err);
  }
}

void loop_set_capacity(const std::string& dev_path) {
  Fd loop = Fd::open(dev_path, O_RDONLY);
  if (ioctl(loop.get(), LOOP_SET_CAPACITY, 0) != 0) throw_sys("ioctl LOOP_SET_CAPACITY", dev_path, errno);
}

bool loop_direct_io(const std::string& dev_path) {
  auto dio = sysfs_u64("/sys/block/" + node_name(dev_path) + "/loop/dio");
  return dio && *dio == 1;
}

}  // namespace mos::io
