#include "engine/disk_access.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "ioctl/error.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {

namespace {

std::string base_name(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::pair<unsigned, unsigned> parse_devnum(const std::string& s) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return {0, 0};
  return {static_cast<unsigned>(std::stoul(s.substr(0, colon))), static_cast<unsigned>(std::stoul(s.substr(colon + 1)))};
}

}  // namespace

Disk open_block_device(const std::string& path, bool write, bool* is_partition) {
  if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos)
    throw_validation("disk path '" + path + "' must be an absolute device path", path);
  Disk d;
  d.path = path;
  d.fd = io::Fd::open(path, write ? O_RDWR : O_RDONLY);
  if (!io::is_block_device(d.fd)) throw_validation(path + " is not a block device", path);
  auto [maj, min] = io::block_devnum(d.fd);
  std::string sys = "/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min);
  auto link = io::read_link(sys);
  if (!link) throw Error(ErrorCode::not_found, "no sysfs entry for " + path, path);
  d.name = base_name(*link);
  if (is_partition) *is_partition = io::sysfs_exists(sys + "/partition");
  d.facts = io::block_facts(d.fd);
  if (write && d.facts.read_only) throw_validation(path + " is read-only", path);
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

std::optional<std::string> busy_reason(const std::string& name) {
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
  // Anything else that claims the device (a mount in another namespace, dm, md, swap) makes
  // an exclusive open fail with EBUSY.
  int fd = ::open(dev.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno == EBUSY) {
    return dev + " is in use (opened exclusively by another program)";
  }
  return std::nullopt;
}

std::optional<uint64_t> nonzero_edge(const io::Fd& fd, uint64_t size_bytes) {
  constexpr uint64_t kEdgeBytes = 1ull << 20;
  const uint64_t window = std::min(kEdgeBytes, size_bytes);
  for (uint64_t off : {uint64_t{0}, size_bytes - window}) {
    auto bytes = fd.pread_vec(static_cast<size_t>(window), off);
    if (std::any_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b != 0; })) return off;
  }
  return std::nullopt;
}

std::optional<std::string> disk_busy_reason(const std::string& disk_name) {
  for (const auto& p : kernel_partitions(disk_name))
    if (auto why = busy_reason(p.name)) return why;
  return busy_reason(disk_name);
}

}  // namespace mos::engine
