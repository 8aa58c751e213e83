#include "engine/inventory/devices.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "engine/inventory/content.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"

namespace mos::engine {
namespace {

const std::string kSysBlock = "/sys/class/block/";

std::string kind_of(const std::string& name, const std::string& sys) {
  if (io::sysfs_exists(sys + "/partition")) return "partition";
  if (name.rfind("loop", 0) == 0) return "loop";
  if (name.rfind("zram", 0) == 0) return "zram";
  if (name.rfind("md", 0) == 0 && io::sysfs_exists(sys + "/md")) return "md";
  if (name.rfind("dm-", 0) == 0) return "dm";
  if (name.rfind("sr", 0) == 0) return "rom";
  return "disk";
}

std::optional<std::string> non_empty(std::optional<std::string> s) {
  if (s && s->empty()) return std::nullopt;
  return s;
}

// The whole-disk name of a partition: the directory containing it in /sys/devices.
std::optional<std::string> parent_name(const std::string& name) {
  auto link = io::read_link(kSysBlock + name);
  if (!link) return std::nullopt;
  auto slash = link->rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  return base_name(link->substr(0, slash));
}

Device read_sysfs_device(const std::string& name) {
  std::string sys = kSysBlock + name;
  Device d;
  d.name = name;
  d.path = "/dev/" + name;
  d.kind = kind_of(name, sys);
  d.size_bytes = io::sysfs_u64(sys + "/size").value_or(0) * 512;
  auto dev = io::sysfs_string(sys + "/dev").value_or("0:0");
  auto colon = dev.find(':');
  if (colon != std::string::npos) {
    d.major = static_cast<unsigned>(std::stoul(dev.substr(0, colon)));
    d.minor = static_cast<unsigned>(std::stoul(dev.substr(colon + 1)));
  }
  std::string disk_sys = sys;
  if (d.kind == "partition") {
    d.parent = parent_name(name);
    if (d.parent) disk_sys = kSysBlock + *d.parent;
    d.partnum = static_cast<uint32_t>(io::sysfs_u64(sys + "/partition").value_or(0));
    d.start_bytes = io::sysfs_u64(sys + "/start").value_or(0) * 512;
    if (d.parent) d.parent = "/dev/" + *d.parent;
  }
  d.logical_sector_size = static_cast<uint32_t>(io::sysfs_u64(disk_sys + "/queue/logical_block_size").value_or(512));
  d.physical_sector_size = static_cast<uint32_t>(io::sysfs_u64(disk_sys + "/queue/physical_block_size").value_or(512));
  // As io::block_facts: a partial last logical sector (4096-byte sectors over an odd-sized loop
  // file) cannot be read or written, so it is not part of the device's size.
  if (d.logical_sector_size > 0) d.size_bytes -= d.size_bytes % d.logical_sector_size;
  d.rotational = io::sysfs_u64(disk_sys + "/queue/rotational").value_or(0) != 0;
  d.removable = io::sysfs_u64(disk_sys + "/removable").value_or(0) != 0;
  d.read_only = io::sysfs_u64(sys + "/ro").value_or(0) != 0;
  d.model = non_empty(io::sysfs_string(disk_sys + "/device/model"));
  d.serial = non_empty(io::sysfs_string(disk_sys + "/device/serial"));
  if (!d.serial) d.serial = non_empty(io::sysfs_string(disk_sys + "/serial"));
  for (auto& h : io::list_dir(sys + "/holders")) d.holders.push_back("/dev/" + h);
  if (d.kind == "loop") d.backing_file = non_empty(io::sysfs_string(sys + "/loop/backing_file"));
  return d;
}

// Mount points by device number of the mount source (mountinfo's own maj:min is anonymous
// for btrfs, so the source node is resolved instead).
std::map<std::pair<unsigned, unsigned>, std::vector<std::string>> mounts_by_devnum() {
  std::map<std::pair<unsigned, unsigned>, std::vector<std::string>> out;
  for (auto& m : io::read_mountinfo()) {
    if (m.source.rfind("/dev/", 0) != 0) continue;
    struct stat st {};
    if (stat(m.source.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) continue;
    auto& v = out[{major(st.st_rdev), minor(st.st_rdev)}];
    if (std::find(v.begin(), v.end(), m.mount_point) == v.end()) v.push_back(m.mount_point);
  }
  return out;
}

}  // namespace

void to_json(json& j, const Device& d) {
  j = json{{"path", d.path},
           {"name", d.name},
           {"kind", d.kind},
           {"size_bytes", d.size_bytes},
           {"logical_sector_size", d.logical_sector_size},
           {"physical_sector_size", d.physical_sector_size},
           {"rotational", d.rotational},
           {"removable", d.removable},
           {"read_only", d.read_only},
           {"model", d.model},
           {"serial", d.serial},
           {"parent", d.parent},
           {"partnum", d.partnum},
           {"start_bytes", d.start_bytes},
           {"partlabel", d.partlabel},
           {"partuuid", d.partuuid},
           {"parttype", d.parttype},
           {"parttype_name", d.parttype_name},
           {"pttype", d.pttype},
           {"ptuuid", d.ptuuid},
           {"fstype", d.fstype},
           {"label", d.label},
           {"uuid", d.uuid},
           {"fsversion", d.fsversion},
           {"usage", d.usage},
           {"damaged", d.damaged},
           {"mountpoints", d.mountpoints},
           {"holders", d.holders},
           {"backing_file", d.backing_file},
           {"major", d.major},
           {"minor", d.minor}};
}

std::string device_name_from_path(const std::string& path_or_name) {
  if (path_or_name.empty()) throw_validation("device path is empty");
  std::string p = path_or_name;
  if (p.find('/') == std::string::npos) p = "/dev/" + p;
  char buf[PATH_MAX];
  if (!realpath(p.c_str(), buf)) throw Error(ErrorCode::not_found, "no such device: " + path_or_name, path_or_name);
  std::string real = buf;
  if (real.rfind("/dev/", 0) != 0 || real.find('/', 5) != std::string::npos)
    throw_validation(path_or_name + " is not a device node under /dev", path_or_name);
  std::string name = real.substr(5);
  if (!io::sysfs_exists(kSysBlock + name))
    throw Error(ErrorCode::not_found, "no such block device: " + path_or_name, path_or_name);
  return name;
}

std::vector<Device> discover_devices(const DiscoverOptions& opts) {
  std::vector<Device> out;
  auto mounts = mounts_by_devnum();
  for (const auto& name : io::list_dir(kSysBlock)) {
    Device d = read_sysfs_device(name);
    if (d.kind == "loop" && d.size_bytes == 0) continue;  // detached loop device
    auto it = mounts.find({d.major, d.minor});
    if (it != mounts.end()) d.mountpoints = it->second;
    out.push_back(std::move(d));
  }
  if (opts.probe_content && !opts.probe_only) fill_content(out);
  if (opts.probe_content && opts.probe_only) {
    std::vector<Device> chosen;
    std::vector<size_t> where;
    for (size_t i = 0; i < out.size(); ++i)
      if (opts.probe_only(out[i])) chosen.push_back(out[i]), where.push_back(i);
    fill_content(chosen);
    for (size_t k = 0; k < where.size(); ++k) out[where[k]] = std::move(chosen[k]);
  }
  return out;
}

Device find_device(const std::string& path_or_name, const DiscoverOptions& opts) {
  std::string name = device_name_from_path(path_or_name);
  Device d = read_sysfs_device(name);
  auto mounts = mounts_by_devnum();
  auto it = mounts.find({d.major, d.minor});
  if (it != mounts.end()) d.mountpoints = it->second;
  if (opts.probe_content) {
    std::vector<Device> one{d};
    fill_content(one);
    d = one.front();
  }
  return d;
}

}  // namespace mos::engine
