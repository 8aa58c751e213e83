#include "tests/vm/guest_dm.hpp"

#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace mos::vmtest {
namespace {

constexpr const char* kControl = "/dev/mapper/control";  // devtmpfs names it when dm-mod loads

size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }

// One ioctl buffer: struct dm_ioctl, then the command's data at data_start.
class DmRequest {
 public:
  DmRequest(const std::string& name, size_t data_bytes) : buf_(sizeof(dm_ioctl) + align8(data_bytes) + 16384, 0) {
    if (name.size() >= DM_NAME_LEN) throw std::runtime_error("dm name too long: " + name);
    dm_ioctl* io = header();
    io->version[0] = DM_VERSION_MAJOR;
    io->data_size = static_cast<uint32_t>(buf_.size());  // room for the kernel's reply too
    io->data_start = sizeof(dm_ioctl);
    std::memcpy(io->name, name.data(), name.size());
  }
  dm_ioctl* header() { return reinterpret_cast<dm_ioctl*>(buf_.data()); }
  char* data() { return buf_.data() + sizeof(dm_ioctl); }

  void run(unsigned long cmd, const char* what) {
    int fd = ::open(kControl, O_RDWR | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(std::string("open ") + kControl + ": " + std::strerror(errno));
    int rc = ::ioctl(fd, cmd, buf_.data());
    int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error(std::string(what) + " " + header()->name + ": " + std::strerror(err));
  }

 private:
  std::vector<char> buf_;
};

std::string kernel_node(uint64_t dev) {
  const unsigned maj = major(static_cast<dev_t>(dev)), min = minor(static_cast<dev_t>(dev));
  char link[256] = {};
  const std::string sys = "/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min);
  ssize_t n = ::readlink(sys.c_str(), link, sizeof link - 1);
  if (n <= 0) throw std::runtime_error("no " + sys + " for the new dm device");
  std::string target(link, static_cast<size_t>(n));
  return "/dev/" + target.substr(target.rfind('/') + 1);
}

}  // namespace

uint64_t device_sectors(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  uint64_t bytes = 0;
  int rc = ::ioctl(fd, BLKGETSIZE64, &bytes);
  ::close(fd);
  if (rc != 0) throw std::runtime_error("BLKGETSIZE64 " + path + ": " + std::strerror(errno));
  return bytes / 512;
}

std::string dm_create(const std::string& name, const std::vector<DmTarget>& table) {
  DmRequest create(name, 0);
  create.run(DM_DEV_CREATE, "DM_DEV_CREATE");
  const uint64_t dev = create.header()->dev;

  size_t bytes = 0;
  for (const auto& t : table) bytes += sizeof(dm_target_spec) + align8(t.params.size() + 1);
  DmRequest load(name, bytes);
  load.header()->target_count = static_cast<uint32_t>(table.size());
  char* at = load.data();
  for (const auto& t : table) {
    auto* spec = reinterpret_cast<dm_target_spec*>(at);
    spec->sector_start = t.start;
    spec->length = t.length;
    if (t.type.size() >= DM_MAX_TYPE_NAME) throw std::runtime_error("dm target type too long: " + t.type);
    std::memcpy(spec->target_type, t.type.data(), t.type.size());
    std::memcpy(at + sizeof(dm_target_spec), t.params.c_str(), t.params.size() + 1);
    spec->next = static_cast<uint32_t>(sizeof(dm_target_spec) + align8(t.params.size() + 1));
    at += spec->next;
  }
  try {
    load.run(DM_TABLE_LOAD, "DM_TABLE_LOAD");
    dm_resume(name);
  } catch (...) {
    try { dm_remove(name); } catch (...) {}  // no half-made device left behind
    throw;
  }
  const std::string node = kernel_node(dev);
  for (int i = 0; i < 500 && ::access(node.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (::access(node.c_str(), F_OK) != 0) throw std::runtime_error(node + " did not appear");
  // What dmsetup does without udev: /dev/mapper/NAME, so that later steps can name the device.
  const std::string link = std::string("/dev/mapper/") + name;
  ::unlink(link.c_str());
  if (::symlink(node.c_str(), link.c_str()) != 0) throw std::runtime_error("symlink " + link + ": " + std::strerror(errno));
  return node;
}

void dm_suspend(const std::string& name) {
  DmRequest suspend(name, 0);
  suspend.header()->flags = DM_SUSPEND_FLAG;  // without DM_NOFLUSH_FLAG: in-flight I/O drains first
  suspend.run(DM_DEV_SUSPEND, "DM_DEV_SUSPEND");
  // Drop the device's cached pages (BLKFLSBUF), so that the next read must reach the held device.
  const std::string node = std::string("/dev/mapper/") + name;
  int fd = ::open(node.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + node + ": " + std::strerror(errno));
  int rc = ::ioctl(fd, BLKFLSBUF, 0);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("BLKFLSBUF " + node + ": " + std::strerror(err));
}

void dm_resume(const std::string& name) {
  DmRequest resume(name, 0);
  resume.run(DM_DEV_SUSPEND, "DM_DEV_SUSPEND (resume)");
}

void dm_remove(const std::string& name) {
  DmRequest remove(name, 0);
  remove.run(DM_DEV_REMOVE, "DM_DEV_REMOVE");
  ::unlink((std::string("/dev/mapper/") + name).c_str());
}

}  // namespace mos::vmtest
