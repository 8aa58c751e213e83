#include "engine/btrfs/devices.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"
#include "engine/safety.hpp"

namespace mos::engine::btrfs {

namespace {

constexpr uint32_t kDefragExtentThreshold = 32u << 20;  // extents >= 32 MiB are left alone
constexpr size_t kMaxFailures = 20;

struct DefragWalk {
  DefragResult& result;
  const ProgressFn& progress;
  CancelFlag cancel;
  dev_t root_dev;

  void note_failure(const std::string& path, int err) {
    ++result.files_failed;
    if (result.failures.size() < kMaxFailures) result.failures.push_back(path + ": " + std::strerror(err));
  }

  void file(int fd, const std::string& path, uint64_t size) {
    btrfs_ioctl_defrag_range_args a{};
    a.len = UINT64_MAX;
    a.flags = BTRFS_DEFRAG_RANGE_START_IO;
    a.extent_thresh = kDefragExtentThreshold;
    if (ioctl(fd, BTRFS_IOC_DEFRAG_RANGE, &a) < 0) return note_failure(path, errno);
    ++result.files_defragmented;
    result.bytes += size;
    if (progress) progress(result.files_defragmented, 0);
  }

  void directory(int dirfd, const std::string& path) {
    DIR* dir = fdopendir(dirfd);
    if (!dir) {
      note_failure(path, errno);
      ::close(dirfd);
      return;
    }
    std::vector<std::string> names;
    while (dirent* de = readdir(dir))
      if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
    std::sort(names.begin(), names.end());
    for (auto& name : names) {
      if (cancel && *cancel) break;
      std::string child = path + "/" + name;
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ELOOP) note_failure(child, errno);  // ELOOP: a symlink, never followed
        continue;
      }
      struct stat st {};
      if (fstat(fd, &st) < 0) {
        note_failure(child, errno);
        ::close(fd);
        continue;
      }
      if (st.st_dev != root_dev) {  // another subvolume or mount: not ours to walk
        ::close(fd);
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        directory(fd, child);  // takes ownership of fd
        continue;
      }
      if (S_ISREG(st.st_mode)) file(fd, child, static_cast<uint64_t>(st.st_size));
      ::close(fd);
    }
    closedir(dir);
  }
};

}  // namespace

uint64_t member_devid(const io::Fd& fs, const std::string& device, const std::string& mount_point) {
  auto devices = device_facts(fs);
  std::erase_if(devices, [](const DeviceFacts& d) { return d.devid == BTRFS_DEV_REPLACE_DEVID; });  // a replace's target
  if (!device.empty() && std::all_of(device.begin(), device.end(), ::isdigit)) {
    if (device.size() > 19) throw_validation("devid " + device + " is out of range", device);
    uint64_t id = std::stoull(device);
    for (auto& d : devices)
      if (d.devid == id) return id;
  } else {
    std::error_code ec;
    auto want = std::filesystem::weakly_canonical(device, ec);
    for (auto& d : devices) {
      auto have = std::filesystem::weakly_canonical(d.path, ec);
      if (d.path == device || have == want) return d.devid;
    }
  }
  throw Error(ErrorCode::not_found, device + " is not a device of the btrfs at " + mount_point, device);
}

void defrag_check_can_start(const std::string& path, const Context& ctx) {
  open_judged_btrfs(path, ctx, BtrfsPath::anywhere);
}

DefragResult defrag(const std::string& path, const Context& ctx, const ProgressFn& progress, CancelFlag cancel) {
  // Judged on the handle the walk starts from: a queued job is judged again when it starts.
  io::Fd root = open_judged_btrfs(path, ctx, BtrfsPath::anywhere);
  const int fd = root.get();
  struct stat st {};
  if (fstat(fd, &st) < 0) throw_sys("stat", path, errno);

  DefragResult result;
  result.path = path;
  DefragWalk walk{result, progress, cancel, st.st_dev};
  if (S_ISREG(st.st_mode)) walk.file(fd, path, static_cast<uint64_t>(st.st_size));
  else walk.directory(root.release(), path);
  return result;
}

std::vector<ResizedDevice> resize_max(const std::string& mount_point, const Context& ctx) {
  io::Fd fs = open_judged_btrfs(mount_point, ctx);
  std::vector<ResizedDevice> out;
  for (auto& d : device_facts(fs)) {
    if (d.path.empty()) continue;  // missing device: nothing to grow
    btrfs_ioctl_vol_args a{};
    std::snprintf(a.name, sizeof a.name, "%llu:max", static_cast<unsigned long long>(d.devid));
    check_btrfs_ioctl(ioctl(fs.get(), BTRFS_IOC_RESIZE, &a), "BTRFS_IOC_RESIZE " + std::string(a.name), mount_point);
    out.push_back({d.devid, d.path, d.total_bytes, 0});
  }
  for (auto& d : device_facts(fs))
    for (auto& r : out)
      if (r.devid == d.devid) r.new_size_bytes = d.total_bytes;
  return out;
}

DeviceChange add_device(const std::string& mount_point, const std::string& device, bool force, const Context& ctx) {
  io::Fd fs = open_judged_btrfs(mount_point, ctx);
  if (device.empty() || device[0] != '/') throw_validation("device must be an absolute path", device);
  ctx.policy.require_allowed(device);
  require_unused(device, force);
  btrfs_ioctl_vol_args a{};
  if (device.size() >= sizeof a.name) throw_validation("device path is too long", device);
  std::snprintf(a.name, sizeof a.name, "%s", device.c_str());
  check_btrfs_ioctl(ioctl(fs.get(), BTRFS_IOC_ADD_DEV, &a), "BTRFS_IOC_ADD_DEV " + device, mount_point);
  DeviceChange c{mount_point, device, std::nullopt, fs_facts(fs).num_devices};
  try {
    c.devid = member_devid(fs, device, mount_point);
  } catch (const Error&) {
  }
  return c;
}

DeviceChange remove_device(const std::string& mount_point, const std::string& device, const Context& ctx) {
  io::Fd fs = open_judged_btrfs(mount_point, ctx);
  uint64_t devid = member_devid(fs, device, mount_point);
  if (fs_facts(fs).num_devices <= 1)
    throw_validation("cannot remove the only device of " + mount_point, device);
  btrfs_ioctl_vol_args_v2 a{};
  a.flags = BTRFS_DEVICE_SPEC_BY_ID;
  a.devid = devid;
  check_btrfs_ioctl(ioctl(fs.get(), BTRFS_IOC_RM_DEV_V2, &a), "BTRFS_IOC_RM_DEV_V2 devid " + std::to_string(devid),
                    mount_point);
  return DeviceChange{mount_point, device, devid, fs_facts(fs).num_devices};
}

}  // namespace mos::engine::btrfs
