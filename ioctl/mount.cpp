#include "ioctl/mount.hpp"

// glibc >= 2.36 declares the new mount API here; <linux/mount.h> is not included because the
// two headers define the same constants.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::io {
namespace {

struct AttrOption {
  const char* name;
  uint64_t set;    // bits to set
  uint64_t clear;  // bits to clear first (the atime field is one value, not independent bits)
};

constexpr AttrOption kAttrOptions[] = {
    {"noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"atime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},  // the kernel default
    {"nodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"diratime", 0, MOUNT_ATTR_NODIRATIME},
    {"nosuid", MOUNT_ATTR_NOSUID, 0},
    {"suid", 0, MOUNT_ATTR_NOSUID},
    {"nodev", MOUNT_ATTR_NODEV, 0},
    {"dev", 0, MOUNT_ATTR_NODEV},
    {"noexec", MOUNT_ATTR_NOEXEC, 0},
    {"exec", 0, MOUNT_ATTR_NOEXEC},
    {"ro", MOUNT_ATTR_RDONLY, 0},
    {"rw", 0, MOUNT_ATTR_RDONLY},
};

// Superblock flags the VFS itself understands in fsconfig (fs/fs_context.c).
constexpr const char* kSuperblockFlags[] = {"ro", "rw", "sync", "async", "dirsync", "lazytime", "nolazytime"};

// Every message the kernel queued on the fs context ("e ...", "w ...", "i ..."), errors and
// warnings joined with "; ".
std::string kernel_messages(int fs_fd) {
  std::string out;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fs_fd, buf, sizeof buf - 1);
    if (n <= 0) break;  // ENODATA: queue drained
    std::string msg(buf, static_cast<size_t>(n));
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (msg.size() < 2 || msg[0] == 'i') continue;
    out += (out.empty() ? "" : "; ") + msg.substr(2);
  }
  return out;
}

[[noreturn]] void throw_mount_error(const std::string& step, const std::string& what, int fs_fd, int err,
                                    const std::string& hint_without_kernel_text = {}) {
  std::string kernel = fs_fd >= 0 ? kernel_messages(fs_fd) : "";
  std::string msg = step + " " + what + ": " + (kernel.empty() ? std::strerror(err) : kernel);
  if (!kernel.empty()) msg += " (" + std::string(std::strerror(err)) + ")";
  else if (!hint_without_kernel_text.empty()) msg += " (" + hint_without_kernel_text + ")";
  // The kernel refusing an option or a filesystem type is bad input, not a storage failure.
  ErrorCode code = (err == EINVAL || err == ENODEV) ? ErrorCode::validation
                   : (err == ENOENT || err == ENXIO)                    ? ErrorCode::not_found
                                                                        : ErrorCode::storage_failed;
  throw Error(code, msg, what, err);
}

}  // namespace

SplitOptions split_mount_options(const std::string& options) {
  SplitOptions out;
  size_t start = 0;
  while (start <= options.size()) {
    size_t comma = options.find(',', start);
    std::string item = options.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? options.size() + 1 : comma + 1;
    if (item.empty()) {
      if (options.empty()) break;
      throw_validation("mount options '" + options + "' contain an empty item");
    }
    for (unsigned char c : item)
      if (c < 0x20 || c == 0x7f) throw_validation("mount option '" + item + "' contains a control character");
    if (item == "defaults") continue;
    bool known = false;
    for (const auto& a : kAttrOptions)
      if (item == a.name) {
        out.mount_attrs = (out.mount_attrs & ~a.clear) | a.set;
        known = true;
      }
    for (const char* f : kSuperblockFlags)
      if (item == f) {
        out.sb_flags.push_back(item);
        known = true;
      }
    if (known) continue;
    size_t eq = item.find('=');
    if (eq == 0) throw_validation("mount option '" + item + "' has no name");
    if (eq == std::string::npos)
      out.data.emplace_back(item, std::nullopt);
    else
      out.data.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

namespace {

// fsopen → fsconfig → fsmount: the detached mount, not attached anywhere yet.
Fd detached_mount(const std::string& source, const std::string& fstype, const SplitOptions& options) {
  int raw = ::fsopen(fstype.c_str(), FSOPEN_CLOEXEC);
  if (raw < 0) {
    int err = errno;
    if (err == ENODEV) throw Error(ErrorCode::validation, "unknown filesystem type '" + fstype + "'", fstype, err);
    throw_sys("fsopen " + fstype, "", err);
  }
  Fd fs(raw, "fs context " + fstype);
  auto config = [&](unsigned cmd, const char* key, const char* value, const std::string& shown,
                    const std::string& hint = {}) {
    if (::fsconfig(fs.get(), cmd, key, value, 0) != 0) throw_mount_error(shown, source, fs.get(), errno, hint);
  };
  config(FSCONFIG_SET_STRING, "source", source.c_str(), "source");
  for (const auto& f : options.sb_flags) config(FSCONFIG_SET_FLAG, f.c_str(), nullptr, "option '" + f + "' for");
  for (const auto& [key, value] : options.data) {
    std::string shown = "option '" + key + (value ? "=" + *value : "") + "' for";
    if (value)
      config(FSCONFIG_SET_STRING, key.c_str(), value->c_str(), shown);
    else
      config(FSCONFIG_SET_FLAG, key.c_str(), nullptr, shown);
  }
  // Some filesystems (btrfs) explain a failed superblock read only in the kernel log.
  config(FSCONFIG_CMD_CREATE, nullptr, nullptr, "mount " + fstype,
         "does " + source + " hold a valid " + fstype + " filesystem? the kernel log may say more");
  int mnt_raw = ::fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(options.mount_attrs));
  if (mnt_raw < 0) throw_mount_error("fsmount " + fstype, source, fs.get(), errno);
  return Fd(mnt_raw, "mount of " + source);
}

}  // namespace

void mount_filesystem(const std::string& source, const std::string& target, const std::string& fstype,
                      const SplitOptions& options) {
  Fd mnt = detached_mount(source, fstype, options);
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    throw_mount_error("move_mount " + source + " to", target, -1, errno);
}

void mount_filesystem_at(const std::string& source, const Fd& target_dir, const std::string& fstype,
                         const SplitOptions& options) {
  Fd mnt = detached_mount(source, fstype, options);
  if (::move_mount(mnt.get(), "", target_dir.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_mount_error("move_mount " + source + " to", target_dir.path(), -1, errno);
}

void make_private(const std::string& target) {
  if (::mount(nullptr, target.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) throw_sys("mount --make-private", target, errno);
}

void unmount(const std::string& target, bool lazy) {
  if (::umount2(target.c_str(), (lazy ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW) != 0) throw_sys("umount", target, errno);
}

}  // namespace mos::io
