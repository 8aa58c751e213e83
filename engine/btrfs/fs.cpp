#include "engine/btrfs/fs.hpp"

#include <fcntl.h>
#include <linux/btrfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "engine/btrfs/members.hpp"
#include "ioctl/mount.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"
#include "base/text.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine::btrfs {

namespace {

std::string read_label(const io::Fd& fs) {
  char label[FSLABEL_MAX] = {};
  if (ioctl(fs.get(), FS_IOC_GETFSLABEL, label) < 0) throw_sys("FS_IOC_GETFSLABEL", fs.path(), errno);
  return std::string(label, strnlen(label, sizeof label));
}

struct BtrfsMount {
  io::MountEntry entry;
  std::string fsid;
};

// Every btrfs mount in this namespace with its fsid (mounts we cannot open are skipped).
std::vector<BtrfsMount> btrfs_mounts() {
  std::vector<BtrfsMount> out;
  for (auto& e : io::read_mountinfo()) {
    if (e.fstype != "btrfs") continue;
    int fd = ::open(e.mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    io::Fd f(fd, e.mount_point);
    btrfs_ioctl_fs_info_args fi{};
    if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi) < 0) continue;
    out.push_back({e, mos::uuid_text(fi.fsid)});
  }
  return out;
}

// Process-wide reference counts of the private top-level mounts we made.
std::mutex g_private_mutex;
std::map<std::string, int> g_private_refs;

void register_devices_for_mount(const std::vector<std::string>& devs) {
  int ctl = ::open("/dev/btrfs-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) throw_sys("open", "/dev/btrfs-control", errno);
  io::Fd control(ctl, "/dev/btrfs-control");
  for (auto& d : devs) {
    btrfs_ioctl_vol_args args{};
    std::snprintf(args.name, sizeof args.name, "%s", d.c_str());
    if (ioctl(ctl, BTRFS_IOC_SCAN_DEV, &args) < 0) throw_sys("BTRFS_IOC_SCAN_DEV", d, errno);
  }
}

struct Located {
  std::string fsid;
  std::string top_level_mount;       // existing mount of subvolid 5, or empty
  std::string any_mount;             // existing mount of any subvolume of it, or empty
  std::vector<std::string> devices;  // to mount from when top_level_mount is empty
};

Located locate_by_mount(const std::string& fsid, const std::vector<BtrfsMount>& mounts) {
  Located loc;
  loc.fsid = fsid;
  for (auto& m : mounts) {
    if (m.fsid != fsid) continue;
    if (m.entry.root == "/" && loc.top_level_mount.empty()) loc.top_level_mount = m.entry.mount_point;
    if (loc.any_mount.empty()) loc.any_mount = m.entry.mount_point;
    if (!m.entry.source.empty() && m.entry.source[0] == '/') loc.devices.push_back(m.entry.source);
  }
  return loc;
}

// The filesystem labelled `label` among those on devices the allow list names (their stacks and
// other members are judged whole later, so a refused member refuses, as in the path form).
Located locate_by_label(const std::string& label, const Policy& policy) {
  auto allowed = [&](const std::string& dev) { return policy.names(dev); };
  auto mounts = btrfs_mounts();
  std::map<std::string, bool> fsids;  // mounted filesystems carrying the label
  for (auto& m : mounts) {
    if (!allowed(m.entry.source) || fsids.count(m.fsid)) continue;
    io::Fd f = io::Fd::open(m.entry.mount_point, O_RDONLY | O_DIRECTORY);
    if (read_label(f) == label) fsids[m.fsid] = true;
  }
  if (fsids.size() > 1)
    throw_validation("more than one mounted btrfs filesystem is labelled '" + label +
                     "'; name it by mount path instead");
  if (fsids.size() == 1) return locate_by_mount(fsids.begin()->first, mounts);

  // Not mounted: read the superblocks of the block devices we may use.
  std::map<std::string, std::vector<std::string>> by_fsid;
  for (auto& name : io::list_dir("/sys/class/block")) {
    std::string dev = "/dev/" + name;
    if (!allowed(dev)) continue;
    auto sb = read_super(dev);
    if (sb && sb->label == label) by_fsid[sb->fsid].push_back(dev);
  }
  if (by_fsid.empty())
    throw Error(ErrorCode::not_found, "no btrfs filesystem labelled '" + label + "' was found", label);
  if (by_fsid.size() > 1)
    throw_validation("more than one btrfs filesystem is labelled '" + label +
                     "'; name it by mount path instead");
  return Located{by_fsid.begin()->first, {}, {}, by_fsid.begin()->second};
}

void require_btrfs(const io::Fd& fd) {
  struct statfs sfs {};
  if (fstatfs(fd.get(), &sfs) < 0) throw_sys("statfs", fd.path(), errno);
  if (sfs.f_type != BTRFS_SUPER_MAGIC) throw_validation(fd.path() + " is not on a mounted btrfs filesystem", fd.path());
}

// The directory behind fd is the root of a mount (asked of the handle, not of a name).
void require_mount_root(const io::Fd& fd) {
  struct statx stx {};
  if (statx(fd.get(), "", AT_EMPTY_PATH, STATX_TYPE, &stx) != 0) throw_sys("statx", fd.path(), errno);
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) || !(stx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    throw_validation(fd.path() + " is not a btrfs mount point (mount the filesystem first)", fd.path());
}

// Opens path as a directory or regular file without ever opening anything else (O_PATH first:
// no FIFO blocks us, no device's open routine runs), then the same inode for real.
io::Fd open_dir_or_file(const std::string& path) {
  if (path.empty() || path[0] != '/') throw_validation("expected an absolute path, got '" + path + "'", path);
  io::Fd handle = io::Fd::open(path, O_PATH);
  struct stat st {};
  if (fstat(handle.get(), &st) < 0) throw_sys("stat", path, errno);
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    throw_validation(path + " is neither a directory nor a regular file", path);
  const std::string same_inode = "/proc/self/fd/" + std::to_string(handle.get());
  const int fd = ::open(same_inode.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw_sys("open", path, errno);
  return io::Fd(fd, path);
}

// An existing mount of the filesystem opened by the name mountinfo gives: it must still hold
// that filesystem (a name can change meanwhile), and is judged whole on this handle.
io::Fd open_existing(const std::string& mount_path, const std::string& fsid, const Context& ctx) {
  io::Fd fd = open_btrfs_path(mount_path);
  if (fs_facts(fd).fsid != fsid)
    throw_validation(mount_path + " no longer holds btrfs " + fsid + " (it changed while the call ran)", mount_path);
  ctx.policy.judge_btrfs(fd, Access::read);
  return fd;
}

}  // namespace

io::Fd open_btrfs_path(const std::string& path) {
  if (path.empty() || path[0] != '/') throw_validation("expected an absolute path, got '" + path + "'", path);
  io::Fd fd = io::Fd::open(path, O_RDONLY | O_DIRECTORY);  // O_DIRECTORY: a FIFO or device is refused unopened
  require_btrfs(fd);
  return fd;
}

io::Fd open_btrfs_mount(const std::string& path) {
  io::Fd fd = open_btrfs_path(path);
  require_mount_root(fd);
  return fd;
}

io::Fd open_judged_btrfs(const std::string& path, const Context& ctx, BtrfsPath what) {
  io::Fd fd = what == BtrfsPath::mount_point ? open_btrfs_mount(path) : open_dir_or_file(path);
  require_btrfs(fd);
  ctx.policy.judge_btrfs(fd, Access::read);
  return fd;
}

FsFacts fs_facts(const io::Fd& fs) {
  btrfs_ioctl_fs_info_args fi{};
  if (ioctl(fs.get(), BTRFS_IOC_FS_INFO, &fi) < 0) throw_sys("BTRFS_IOC_FS_INFO", fs.path(), errno);
  FsFacts f;
  f.fsid = mos::uuid_text(fi.fsid);
  f.label = read_label(fs);
  f.num_devices = fi.num_devices;
  f.max_devid = fi.max_id;
  f.nodesize = fi.nodesize;
  f.sectorsize = fi.sectorsize;
  f.generation = fi.generation;
  return f;
}

std::vector<DeviceFacts> device_facts(const io::Fd& fs) {
  btrfs_ioctl_fs_info_args fi{};
  if (ioctl(fs.get(), BTRFS_IOC_FS_INFO, &fi) < 0) throw_sys("BTRFS_IOC_FS_INFO", fs.path(), errno);
  const std::string devinfo = "/sys/fs/btrfs/" + mos::uuid_text(fi.fsid) + "/devinfo/";
  std::vector<DeviceFacts> out;
  for (uint64_t id = 0; id <= fi.max_id; ++id) {
    auto di = std::make_unique<btrfs_ioctl_dev_info_args>();
    std::memset(di.get(), 0, sizeof *di);
    di->devid = id;
    if (ioctl(fs.get(), BTRFS_IOC_DEV_INFO, di.get()) < 0) {
      if (errno == ENODEV) continue;
      throw_sys("BTRFS_IOC_DEV_INFO", fs.path(), errno);
    }
    DeviceFacts d;
    d.devid = di->devid;
    d.uuid = mos::uuid_text(di->uuid);
    d.path.assign(reinterpret_cast<const char*>(di->path), strnlen(reinterpret_cast<const char*>(di->path), sizeof di->path));
    d.total_bytes = di->total_bytes;
    d.bytes_used = di->bytes_used;
    // A missing device keeps the name it was scanned under, which may now be another device's.
    if (io::sysfs_u64(devinfo + std::to_string(id) + "/missing").value_or(0) == 1) d.path.clear();
    out.push_back(std::move(d));
  }
  return out;
}

uint64_t block_device_size(const std::string& dev) {
  int fd = io::open_block_fd(dev, O_RDONLY);
  if (fd < 0) return 0;
  io::Fd f(fd, dev);
  uint64_t size = 0;
  if (ioctl(fd, BLKGETSIZE64, &size) < 0) return 0;
  return size;
}

TopLevel::TopLevel(TopLevel&& o) noexcept
    : fd_(std::move(o.fd_)), path_(std::move(o.path_)), fsid_(std::move(o.fsid_)), private_(o.private_) {
  o.private_ = false;
}

TopLevel::~TopLevel() {
  fd_.close();
  if (!private_) return;
  std::lock_guard lock(g_private_mutex);
  if (--g_private_refs[fsid_] > 0) return;
  g_private_refs.erase(fsid_);
  try {
    io::unmount(path_, false);
  } catch (const Error&) {
    try {
      io::unmount(path_, true);  // busy: detach lazily
    } catch (const Error&) {
    }
  }
  ::rmdir(path_.c_str());
}

TopLevel open_top_level(const std::optional<std::string>& filesystem, const Context& ctx, Mounting mounting) {
  Located loc;
  io::Fd named;  // the path form: opened and judged once, read through when nothing is mounted
  const std::string what = filesystem.value_or(kDefaultLabel);
  if (filesystem && !filesystem->empty() && (*filesystem)[0] == '/') {
    named = open_judged_btrfs(*filesystem, ctx, BtrfsPath::anywhere);
    loc = locate_by_mount(fs_facts(named).fsid, btrfs_mounts());
    if (loc.devices.empty())  // mounted from a path we cannot see: ask the kernel
      for (auto& d : device_facts(named)) if (!d.path.empty()) loc.devices.push_back(d.path);
  } else {
    std::string label = filesystem && !filesystem->empty() ? *filesystem : kDefaultLabel;
    if (label.size() > 255) throw_validation("filesystem label is longer than 255 bytes");
    loc = locate_by_label(label, ctx.policy);
  }

  TopLevel top;
  top.fsid_ = loc.fsid;
  if (!loc.top_level_mount.empty()) {
    top.path_ = loc.top_level_mount;
    top.fd_ = open_existing(top.path_, loc.fsid, ctx);
    return top;
  }
  if (mounting == Mounting::never) {
    top.at_top_level_ = false;
    if (named.valid()) {
      top.path_ = *filesystem;
      top.fd_ = std::move(named);
      return top;
    }
    if (loc.any_mount.empty()) {
      // Judged as a mount would judge it, so the answer is the path form's for a refused member.
      for (auto& d : loc.devices) ctx.policy.judge(d, Access::read);
      throw Error(ErrorCode::validation,
                  "btrfs " + loc.fsid + " (labelled '" + what +
                      "') is not mounted; this query reads through an existing mount and never mounts one",
                  what);
    }
    top.path_ = loc.any_mount;
    top.fd_ = open_existing(top.path_, loc.fsid, ctx);
    return top;
  }

  std::lock_guard lock(g_private_mutex);
  top.path_ = ctx.run_dir + "/mnt/" + loc.fsid;
  if (g_private_refs[loc.fsid] == 0) {
    if (loc.devices.empty()) throw Error(ErrorCode::not_found, "no device found for btrfs " + loc.fsid);
    // Each with its stack and every other member carrying the fsid: what the kernel assembles.
    for (auto& d : loc.devices) ctx.policy.judge(d, Access::mount);
    std::error_code ec;
    std::filesystem::create_directories(top.path_, ec);
    if (ec) throw Error(ErrorCode::storage_failed, "cannot create " + top.path_ + ": " + ec.message(), top.path_);
    register_devices_for_mount(loc.devices);
    try {
      io::mount_filesystem(loc.devices.front(), top.path_, "btrfs",
                           io::split_mount_options("nosuid,nodev,noexec,subvolid=5"));
    } catch (const Error&) {
      ::rmdir(top.path_.c_str());
      throw;
    }
    try {
      io::make_private(top.path_);  // keep it out of shared peers
    } catch (const Error&) {
    }
  }
  ++g_private_refs[loc.fsid];
  top.private_ = true;
  top.fd_ = open_existing(top.path_, loc.fsid, ctx);
  return top;
}

void check_btrfs_ioctl(int ret, const std::string& call, const std::string& path) {
  if (ret == 0) return;
  if (ret < 0) throw_sys(call, path, errno);
  static const char* const kText[] = {
      "",
      "unable to go below two devices on raid1",
      "unable to go below four devices on raid10",
      "unable to go below two devices on raid5",
      "unable to go below three devices on raid6",
      "the device is the target of a running replace",
      "no missing device found to remove",
      "the device is the only writable device of the filesystem",
      "another exclusive operation (balance, device add/remove/replace, resize) is running",
      "unable to go below three devices on raid1c3",
      "unable to go below four devices on raid1c4",
  };
  std::string why = ret < int(std::size(kText)) ? kText[ret] : "btrfs error " + std::to_string(ret);
  throw Error(ErrorCode::storage_failed, call + " " + path + ": " + why, path);
}

void validate_subvolume_name(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 255)
    throw_validation(std::string(what) + " must be 1..255 bytes long", name);
  if (name == "." || name == "..")
    throw_validation(std::string(what) + " '" + name + "' is not allowed (path traversal)", name);
  if (name.find('/') != std::string::npos)
    throw_validation(std::string(what) + " '" + name + "' must not contain '/'", name);
  if (name[0] == '-') throw_validation(std::string(what) + " '" + name + "' must not start with '-'", name);
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '+' || c == '@'))
      throw_validation(std::string(what) + " '" + name + "' may only contain letters, digits and . _ - + @",
                       name);
}

bool is_core_subvolume(const std::string& name) {
  for (const char* core : {"system", "etc", "modules", "vm-meta", "mos-bin"})
    if (name == core) return true;
  return false;
}

}  // namespace mos::engine::btrfs
