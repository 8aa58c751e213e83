// The kernel side of arrays: start (new_array, SET_ARRAY_INFO, ADD_NEW_DISK, RUN_ARRAY,
// /dev/md/<name>) and stop, as mdadm does it but in-process.
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "engine/policy.hpp"
#include "engine/raid/raid.hpp"
#include "engine/raid/internal.hpp"
#include "engine/safety.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/md.hpp"
#include "ioctl/sysfs.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {
namespace raid {
namespace {

void make_node_from_sysfs(const std::string& block, const std::string& path) {
  auto dev = io::sysfs_string("/sys/block/" + block + "/dev");
  if (!dev) throw Error(ErrorCode::not_found, "md device " + block + " has no /sys/block/" + block + "/dev", path);
  unsigned maj = 0, min = 0;
  if (std::sscanf(dev->c_str(), "%u:%u", &maj, &min) != 2)
    throw Error(ErrorCode::storage_failed, "unreadable device number '" + *dev + "' for " + block, path);
  if (::mknod(path.c_str(), S_IFBLK | 0660, makedev(maj, min)) != 0 && errno != EEXIST) throw_sys("mknod", path, errno);
}

// /dev/md/<name> -> ../md_<name>, replacing a stale link of that name.
void link_array_name(const std::string& name, const std::string& block) {
  if (::mkdir("/dev/md", 0755) != 0 && errno != EEXIST) throw_sys("mkdir", "/dev/md", errno);
  const std::string link = raid_link_path(name);
  std::string target = "../" + block;
  if (auto cur = io::read_link(link); cur && *cur == target) return;
  ::unlink(link.c_str());
  if (::symlink(target.c_str(), link.c_str()) != 0) throw_sys("symlink", link, errno);
}

void unlink_array_name(const std::string& block) {
  const std::string link = raid_link_path(name_of_block(block));
  if (auto cur = io::read_link(link); cur && *cur == "../" + block) ::unlink(link.c_str());
}

// SET_ARRAY_INFO's superblock version (major, minor): 0.90, or 1.2 (the minor names the 1.x offset).
std::pair<int, int> version_numbers(mdraid::Metadata metadata) {
  return metadata == mdraid::Metadata::v0_90 ? std::pair{0, 90} : std::pair{1, 2};
}

}  // namespace

io::Fd open_md_node(const std::string& block) {
  const std::string path = "/dev/" + block;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) make_node_from_sysfs(block, path);
  return io::open_block(path, O_RDWR);
}

void require_md_driver() {
  if (!io::md::driver_present())
    throw Error(ErrorCode::storage_failed, "the md driver is not loaded (no /sys/module/md_mod); load md-mod and raid1");
  std::string mdstat;
  try {
    mdstat = io::read_text_file("/proc/mdstat");
  } catch (const Error&) {
  }
  auto line_end = mdstat.find('\n');
  if (mdstat.substr(0, line_end).find("[raid1]") == std::string::npos)
    throw Error(ErrorCode::storage_failed, "the md raid1 personality is not loaded (/proc/mdstat); load the raid1 module");
}

std::string member_path(const std::string& given, const Context& ctx) {
  std::string path = ctx.policy.judge(given, Access::write);  // before the device is even looked up
  device_name_from_path(path);  // a block device the kernel knows
  return path;
}

Device require_unused_member(const std::string& path, bool force) {
  if (!force) return require_unused(path, false);
  Device d = find_device(path, DiscoverOptions{false});
  refuse_read_only(d.path, d.read_only);
  require_not_in_use(d);
  return d;
}

std::string start_array(const std::string& name, mdraid::Metadata metadata, const std::vector<Device>& members,
                        bool read_only) {
  auto [major_version, minor_version] = version_numbers(metadata);
  const std::string block = raid_block_name(name);
  if (io::md::md_device_exists(block)) {
    if (array_running(block)) throw_validation("an md array named " + name + " is already running (/dev/" + block + ")");
  } else {
    io::md::create_named_array(block);
  }
  io::Fd md = open_md_node(block);
  try {
    io::md::set_array_version(md, major_version, minor_version);
    for (const auto& m : members) io::md::add_new_disk(md, m.major, m.minor);
    if (read_only) io::md::run_array_read_only(block);
    else io::md::run_array(md);
  } catch (...) {
    try {
      io::md::stop_array(md);  // releases the members the kernel already claimed
    } catch (const Error&) {
    }
    throw;
  }
  link_array_name(name, block);
  return block;
}

}  // namespace raid

RaidArray make_raid_writable(const std::string& array, const Context& ctx) {
  const std::string block = raid::resolve_md_block(array);
  raid::require_md_allowed(block, ctx);
  io::Fd md = raid::open_md_node(block);
  io::md::restart_array_rw(md);
  return raid::read_array(block);
}

RaidArray stop_raid(const std::string& array, const Context& ctx) {
  const std::string block = raid::resolve_md_block(array);
  raid::require_md_allowed(block, ctx);
  Device dev = find_device("/dev/" + block, DiscoverOptions{false});
  if (!dev.mountpoints.empty())
    throw_validation(dev.path + " is mounted at " + dev.mountpoints.front() + "; unmount it before stopping the array", dev.path);
  if (!dev.holders.empty()) throw_validation(dev.path + " is held by " + dev.holders.front() + "; refusing to stop it", dev.path);
  RaidArray before = raid::read_array(block);
  io::Fd md = raid::open_md_node(block);
  // md refuses STOP_ARRAY (EBUSY) while a short-lived opener (a prober) holds it; retry briefly.
  for (int attempt = 0;; ++attempt) {
    try {
      io::md::stop_array(md);
      break;
    } catch (const Error& e) {
      if (e.sys_errno() != EBUSY || attempt >= 20) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  md.close();
  raid::unlink_array_name(block);
  before.state = "stopped";
  return before;
}

}  // namespace mos::engine
