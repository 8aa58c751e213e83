#include "engine/disk_access.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "engine/policy.hpp"
#include "base/bytes.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {

namespace {

std::pair<unsigned, unsigned> parse_devnum(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return {0, 0};
  return {static_cast<unsigned>(std::stoul(s.substr(0, colon))), static_cast<unsigned>(std::stoul(s.substr(colon + 1)))};
}

}  // namespace

namespace {

// Fills name and facts of an opened block device; `is_partition` tells which kind it is.
void describe(Disk& d, bool write, bool* is_partition) {
  const std::string& path = d.path;
  if (!io::is_block_device(d.fd)) throw_validation(path + " is not a block device", path);
  auto [maj, min] = io::block_devnum(d.fd);
  std::string sys = "/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min);
  auto link = io::read_link(sys);
  if (!link) throw Error(ErrorCode::not_found, "no sysfs entry for " + path, path);
  d.name = base_name(*link);
  if (is_partition) *is_partition = io::sysfs_exists(sys + "/partition");
  d.facts = io::block_facts(d.fd);
  if (write) refuse_read_only(path, d.facts.read_only);
}

}  // namespace

Disk open_block_device(const std::string& path, bool write, bool* is_partition) {
  if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos)
    throw_validation("disk path '" + path + "' must be an absolute device path", path);
  Disk d;
  d.path = path;
  d.fd = io::open_block(path, write ? O_RDWR : O_RDONLY);
  describe(d, write, is_partition);
  return d;
}

Disk open_disk(const std::string& path, bool write) {
  bool part = false;
  Disk d = open_block_device(path, write, &part);
  if (part) throw_validation(path + " is a partition; give the whole disk it belongs to", path);
  return d;
}

std::string partition_name(const std::string& disk, uint32_t number) {
  bool ends_in_digit = !disk.empty() && disk.back() >= '0' && disk.back() <= '9';
  return disk + (ends_in_digit ? "p" : "") + std::to_string(number);
}

std::vector<KernelPartition> kernel_partitions(const std::string& disk_name) {
  std::vector<KernelPartition> out;
  std::string dir = "/sys/class/block/" + disk_name;
  for (const auto& entry : io::list_dir(dir)) {
    // The kernel names a partition after its disk (sda1, loop0p1); the other entries are the
    // disk's attributes, not worth an open each.
    if (entry.size() <= disk_name.size() || entry.compare(0, disk_name.size(), disk_name) != 0) continue;
    auto number = io::sysfs_u64(dir + "/" + entry + "/partition");
    if (!number) continue;
    KernelPartition p;
    p.number = static_cast<uint32_t>(*number);
    p.name = entry;
    // sysfs start/size are always in 512-byte units, whatever the logical sector size.
    p.start_bytes = io::sysfs_u64(dir + "/" + entry + "/start").value_or(0) * 512;
    p.size_bytes = io::sysfs_u64(dir + "/" + entry + "/size").value_or(0) * 512;
    out.push_back(p);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  return out;
}

std::optional<std::string> busy_reason(const std::string& name, bool probe_exclusive) {
  std::string sys = "/sys/class/block/" + name;
  auto [maj, min] = parse_devnum(io::sysfs_string(sys + "/dev").value_or(""));
  std::string dev = "/dev/" + name;
  for (const auto& m : io::read_mountinfo())
    if ((m.major == maj && m.minor == min && maj != 0) || m.source == dev) return dev + " is mounted at " + m.mount_point;
  auto holders = io::list_dir(sys + "/holders");
  if (!holders.empty()) return dev + " is held by " + holders.front();
  std::istringstream swaps(io::sysfs_string("/proc/swaps").value_or(""));
  std::string line;
  while (std::getline(swaps, line))
    if (line.rfind(dev + " ", 0) == 0 || line.rfind(dev + "\t", 0) == 0) return dev + " is in use as swap";
  // A mounted multi-device btrfs shows one member in mountinfo; sysfs lists them all.
  for (const auto& fsid : io::list_dir("/sys/fs/btrfs")) {
    auto members = io::list_dir("/sys/fs/btrfs/" + fsid + "/devices");
    if (std::find(members.begin(), members.end(), name) != members.end()) return dev + " is a member of mounted btrfs " + fsid;
  }
  if (!probe_exclusive) return std::nullopt;
  // Anything else that claims the device (a mount in another namespace, dm, md, swap) makes
  // an exclusive open fail with EBUSY.
  int fd = io::open_block_fd(dev, O_RDONLY | O_EXCL);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno == EBUSY) {
    return dev + " is in use (opened exclusively by another program)";
  }
  return std::nullopt;
}

std::optional<std::string> disk_busy_reason(const std::string& disk_name, bool probe_exclusive) {
  for (const auto& p : kernel_partitions(disk_name))
    if (auto why = busy_reason(p.name, probe_exclusive)) return why;
  return busy_reason(disk_name, probe_exclusive);
}

namespace test_hooks {
std::function<void(const std::string& disk)> inside_table_lock;
}  // namespace test_hooks

Disk open_disk_for_change(const std::string& request, const Policy& policy, bool siblings_may_be_busy) {
  const std::string path = policy.judge(request, siblings_may_be_busy ? Access::table : Access::write);
  Disk d;
  d.path = path;
  int raw = io::open_block_fd(path, O_RDWR | O_EXCL);
  const bool exclusive = raw >= 0;
  if (!exclusive) {
    if (errno != EBUSY) throw_sys("open", path, errno);
    if (!siblings_may_be_busy) {
      std::string why = disk_busy_reason(base_name(path), false).value_or(path + " is in use (opened exclusively by another program)");
      throw_validation("refusing to change the partition table of " + path + ": " + why + " (force does not override this)", path);
    }
    raw = io::open_block_fd(path, O_RDWR);
    if (raw < 0) throw_sys("open", path, errno);
  }
  d.fd = io::Fd(raw, path);
  bool part = false;
  describe(d, true, &part);
  if (part) throw_validation(path + " is a partition; give the whole disk it belongs to", path);
  d.exclusive = exclusive;
  d.lock = std::make_unique<io::FlockGuard>(d.fd);
  if (exclusive)
    if (auto busy = disk_busy_reason(d.name, false))
      throw_validation("refusing to change the partition table of " + path + ": " + *busy + " (force does not override this)", path);
  return d;
}

void claim_partition(Disk& d, const std::string& name, const std::string& what) {
  if (d.exclusive) return;  // the whole disk is held: no partition of it can be claimed
  const std::string node = "/dev/" + name;
  int fd = io::open_block_fd(node, O_RDONLY | O_EXCL);
  if (fd < 0) {
    if (errno != EBUSY) throw_sys("open", node, errno);
    throw_validation("refusing to " + what + ": " + busy_reason(name, false).value_or(node + " is in use (opened exclusively by another program)"), d.path);
  }
  d.claimed_partition = io::Fd(fd, node);
}

}  // namespace mos::engine
