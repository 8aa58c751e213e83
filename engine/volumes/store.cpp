#include "engine/volumes/store.hpp"

#include <btrfsutil.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "engine/apply_plan.hpp"
#include "engine/btrfs/fs.hpp"
#include "engine/btrfs/util_error.hpp"
#include "engine/volumes/extents.hpp"
#include "engine/volumes/holders.hpp"
#include "engine/volumes/names.hpp"
#include "ioctl/flock.hpp"

namespace mos::engine::volumes {

namespace {

using json = nlohmann::json;

constexpr const char* kMetaXattr = "user.mos.volume";
constexpr size_t kMaxMetaBytes = 1024;

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The store's lock, ordering changes between threads and processes; an absent store (a dry run
// before the first change) has nothing to order.
class StoreLock {
 public:
  explicit StoreLock(const io::Fd& dir) {
    if (dir.valid()) guard_.emplace(dir);
  }

 private:
  std::optional<io::FlockGuard> guard_;
};

// An entry of the volumes directory, opened without following a link.
io::Fd open_entry(const io::Fd& dir, const std::string& dir_path, const std::string& name, int flags) {
  const std::string path = dir_path + "/" + name;
  if (!dir.valid()) throw Error(ErrorCode::not_found, "no volume '" + name + "' in " + dir_path, path, ENOENT);
  const int fd = ::openat(dir.get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw Error(ErrorCode::not_found, "no volume '" + name + "' in " + dir_path, path, ENOENT);
    if (errno == ELOOP) throw_validation(path + " is a symbolic link, not a volume", path);
    throw_sys("open", path, errno);
  }
  return io::Fd(fd, path);
}

json meta_of(const Volume& v) {
  return {{"v", 1}, {"kind", kind_name(v.kind)}, {"size", v.size}, {"created", v.created_unix},
          {"origin", v.origin ? json(*v.origin) : json(nullptr)}, {"snapshot", v.snapshot}};
}

void write_meta(const io::Fd& fd, const Volume& v) {
  const std::string text = meta_of(v).dump();
  if (::fsetxattr(fd.get(), kMetaXattr, text.data(), text.size(), 0) != 0) throw_sys("set xattr of", fd.path(), errno);
}

// The metadata of an entry, or nullopt when it carries none we wrote (not a volume).
std::optional<Volume> read_meta(const io::Fd& fd, const std::string& name) {
  char buf[kMaxMetaBytes];
  const ssize_t n = ::fgetxattr(fd.get(), kMetaXattr, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  json j = json::parse(std::string(buf, static_cast<size_t>(n)), nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
  Volume v;
  v.name = name;
  const std::string kind = j.value("kind", "");
  if (kind != "fs" && kind != "block") return std::nullopt;
  v.kind = kind == "fs" ? Kind::fs : Kind::block;
  if (j.contains("created") && j["created"].is_number_integer()) v.created_unix = j["created"].get<int64_t>();
  if (j.contains("origin") && j["origin"].is_string() && is_volume_name(j["origin"].get<std::string>()))
    v.origin = j["origin"].get<std::string>();
  v.snapshot = j.value("snapshot", false);
  return v;
}

int inode_flags(const io::Fd& fd) {
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) throw_sys("FS_IOC_GETFLAGS", fd.path(), errno);
  return flags;
}

void set_inode_flag(const io::Fd& fd, int flag, bool on) {
  int flags = inode_flags(fd);
  flags = on ? flags | flag : flags & ~flag;
  if (::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) != 0) throw_sys("FS_IOC_SETFLAGS", fd.path(), errno);
}

void set_immutable(const io::Fd& fd, bool on) { set_inode_flag(fd, FS_IMMUTABLE_FL, on); }

// Makes `from` visible as `to`, never over an existing entry, and durable.
void publish(const io::Fd& dir, const std::string& from, const std::string& to) {
  if (::renameat2(dir.get(), from.c_str(), dir.get(), to.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) throw_validation("a volume '" + to + "' appeared meanwhile", dir.path() + "/" + to);
    throw_sys("rename in", dir.path(), errno);
  }
  dir.fsync();
}

// Removes an entry (in-progress or renamed away): a subvolume by subvolume delete, a file by unlink.
void destroy(const io::Fd& dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    throw_sys("stat", dir.path() + "/" + name, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    errno = 0;
    auto err = btrfs_util_delete_subvolume_fd(dir.get(), name.c_str(), 0);
    if (err) btrfs::throw_util(err, "delete subvolume", dir.path() + "/" + name);
  } else {
    if (S_ISREG(st.st_mode)) {
      io::Fd f = open_entry(dir, dir.path(), name, O_RDONLY);
      set_immutable(f, false);
    }
    if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) throw_sys("unlink", dir.path() + "/" + name, errno);
  }
}

// Removes an in-progress entry when the operation that made it fails before publishing it.
class InProgress {
 public:
  InProgress(const io::Fd& dir, std::string name) : dir_(dir), name_(std::move(name)) {}
  ~InProgress() {
    if (armed_) try { destroy(dir_, name_); } catch (...) {}  // sweep_incomplete() finds what is left
  }
  const std::string& name() const { return name_; }
  void published() { armed_ = false; }
  InProgress(const InProgress&) = delete;
  InProgress& operator=(const InProgress&) = delete;

 private:
  const io::Fd& dir_;
  std::string name_;
  bool armed_ = true;
};

// Names in the volumes directory that `wanted` accepts; more than kMaxVolumes is refused.
std::vector<std::string> entry_names(const io::Fd& dir, const std::function<bool(const std::string&)>& wanted) {
  const int fd = ::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_sys("open", dir.path(), errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    throw_sys("fdopendir", dir.path(), errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (!wanted(e->d_name)) continue;
    if (names.size() >= kMaxVolumes) {
      ::closedir(d);
      throw_validation(dir.path() + " holds more than " + std::to_string(kMaxVolumes) + " entries");
    }
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  return names;
}

}  // namespace

const char* kind_name(Kind k) { return k == Kind::fs ? "fs" : "block"; }

Kind parse_kind(const std::string& text) {
  if (text == "fs") return Kind::fs;
  if (text == "block") return Kind::block;
  throw Error(ErrorCode::invalid_params, "invalid params: 'kind' must be \"fs\" or \"block\"");
}

Store Store::open(const std::string& parent, const std::string& subvolume, const Context& ctx, bool create) {
  return open_as(parent, subvolume, ctx, create ? Missing::create : Missing::refuse);
}

Store Store::open_for_dry_run(const std::string& parent, const std::string& subvolume, const Context& ctx) {
  return open_as(parent, subvolume, ctx, Missing::absent);
}

Store Store::open_as(const std::string& parent, const std::string& subvolume, const Context& ctx, Missing missing) {
  if (!is_volume_name(subvolume)) throw_validation("the volumes subvolume must be one name of A-Z a-z 0-9 _ . -");
  io::Fd judged = btrfs::open_judged_btrfs(parent, ctx, btrfs::BtrfsPath::anywhere);
  const std::string path = (parent.size() > 1 && parent.back() == '/' ? parent.substr(0, parent.size() - 1) : parent) +
                           "/" + subvolume;
  int fd = ::openat(judged.get(), subvolume.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && missing == Missing::absent) {
    Store s(io::Fd(), path, std::move(judged));
    s.classic_qgroups_ = ctx.volumes_classic_qgroups;
    return s;
  }
  if (fd < 0 && errno == ENOENT && missing == Missing::create) {
    errno = 0;
    auto err = btrfs_util_create_subvolume_fd(judged.get(), subvolume.c_str(), 0, nullptr, nullptr);
    if (err && errno != EEXIST) btrfs::throw_util(err, "create subvolume", path);
    judged.fsync();
    fd = ::openat(judged.get(), subvolume.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ENOENT) throw Error(ErrorCode::not_found, "no volumes subvolume at " + path, path, ENOENT);
    if (errno == ELOOP || errno == ENOTDIR) throw_validation(path + " is not a directory (a link or a file)", path);
    throw_sys("open", path, errno);
  }
  io::Fd dir(fd, path);
  errno = 0;
  if (btrfs_util_is_subvolume_fd(dir.get()) != BTRFS_UTIL_OK) throw_validation(path + " exists but is not a btrfs subvolume", path);
  Store s(std::move(dir), path);
  s.classic_qgroups_ = ctx.volumes_classic_qgroups;
  return s;
}

Volume Store::describe(const std::string& name) const {
  io::Fd fd = open_entry(dir_, path_, name, O_RDONLY);
  auto v = read_meta(fd, name);
  if (!v) throw_validation(path_ + "/" + name + " is not a volume (no " + kMetaXattr + " metadata)", path_ + "/" + name);
  v->path = path_ + "/" + name;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_sys("stat", v->path, errno);
  if (v->kind == Kind::block) {
    if (!S_ISREG(st.st_mode)) throw_validation(v->path + ": block volume metadata on something that is not a file", v->path);
    v->size = static_cast<uint64_t>(st.st_size);
    ExtentBytes e = extent_bytes(fd);
    v->exclusive_bytes = e.exclusive;
    v->shared_bytes = e.shared;
    v->attached = attached_loop(fd);
  } else if (!S_ISDIR(st.st_mode)) {
    throw_validation(v->path + ": fs volume metadata on something that is not a directory", v->path);
  } else {
    v->limit = read_limit(fd);
  }
  return *v;
}

io::Fd Store::open_volume(const std::string& name, int flags) const {
  require_volume_name(name);
  return open_entry(dir_, path_, name, flags);
}

Volume Store::show(const std::string& name) const {
  require_volume_name(name);
  return describe(name);
}

std::vector<Volume> Store::list() const {
  if (absent()) return {};
  // ".", "..", in-progress entries and foreign names are not volumes.
  std::vector<std::string> names = entry_names(dir_, is_volume_name);
  std::sort(names.begin(), names.end());
  std::vector<Volume> out;
  for (const auto& n : names) {
    try {
      out.push_back(describe(n));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::validation && e.code() != ErrorCode::not_found) throw;  // not ours, or gone meanwhile
    }
  }
  return out;
}

Volume Store::create(const CreateRequest& req, DryRun* dry) {
  require_volume_name(req.name);
  if (req.kind == Kind::block && (req.size == 0 || req.size % 512 != 0))
    throw Error(ErrorCode::invalid_params, "invalid params: a block volume's 'size' must be a positive multiple of 512");
  if (req.kind == Kind::fs && req.size != 0)
    throw Error(ErrorCode::invalid_params, "invalid params: an fs volume has no 'size' (its limit is set apart)");
  if (req.kind == Kind::block && req.limit != 0)
    throw Error(ErrorCode::invalid_params, "invalid params: a block volume has no 'limit' (its size bounds it)");
  StoreLock lock(dir_);
  struct stat st {};
  if (!absent() && ::fstatat(dir_.get(), req.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    Volume have = describe(req.name);
    const uint64_t have_limit = have.limit.bytes.value_or(0);
    if (have.kind != req.kind || have.size != req.size || have.snapshot || have.origin || have_limit != req.limit)
      throw_validation("volume '" + req.name + "' exists as " + kind_name(have.kind) + " of " + std::to_string(have.size) +
                 " bytes" + (have_limit ? " limited to " + std::to_string(have_limit) + " bytes" : std::string()) +
                 (have.origin ? " cloned from " + *have.origin : std::string()) + "; not changed",
             have.path);
    if (dry) dry->actions.push_back("nothing: volume '" + req.name + "' exists with these parameters");
    return have;
  }
  Volume v;
  v.name = req.name;
  v.kind = req.kind;
  v.size = req.size;
  v.created_unix = now_unix();
  if (dry) {
    v.path = path_ + "/" + req.name;
    if (absent()) dry->actions.push_back("create the volumes subvolume " + path_);
    dry->actions.push_back(req.kind == Kind::block ? "create image " + v.path + " of " + std::to_string(req.size) + " bytes"
                                                   : "create subvolume " + v.path);
    if (req.limit) {
      v.limit.bytes = req.limit;
      v.limit.mode = predicted_limit_mode(absent() ? parent_ : dir_, classic_qgroups_);
      dry->actions.push_back("limit it to " + std::to_string(req.limit) + " bytes (" + limit_mode_name(v.limit.mode) +
                             " quota; enabled filesystem-wide if it is off)");
    }
    return v;
  }
  InProgress tmp(dir_, in_progress_name(req.name));
  if (req.kind == Kind::block) {
    const int fd = ::openat(dir_.get(), tmp.name().c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw_sys("create", path_ + "/" + tmp.name(), errno);
    io::Fd f(fd, path_ + "/" + tmp.name());
    if (::ftruncate(f.get(), static_cast<off_t>(req.size)) != 0) throw_sys("size", f.path(), errno);
    crash_point("volume:after-size");
    write_meta(f, v);
    f.fsync();
  } else {
    errno = 0;
    auto err = btrfs_util_create_subvolume_fd(dir_.get(), tmp.name().c_str(), 0, nullptr, nullptr);
    if (err) btrfs::throw_util(err, "create subvolume", path_ + "/" + tmp.name());
    crash_point("volume:after-subvolume");
    io::Fd f = open_entry(dir_, path_, tmp.name(), O_RDONLY | O_DIRECTORY);
    if (req.limit) set_limit(f, req.limit, classic_qgroups_);  // the qgroup is the subvolume's: the rename keeps it
    write_meta(f, v);
    f.fsync();
  }
  crash_point("volume:before-publish");
  publish(dir_, tmp.name(), req.name);
  tmp.published();
  return describe(req.name);
}

Volume Store::copy(const std::string& origin, const std::string& name, bool read_only, DryRun* dry) {
  require_volume_name(origin);
  require_volume_name(name);
  StoreLock lock(dir_);
  Volume from = describe(origin);
  struct stat st {};
  if (::fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    throw_validation("volume '" + name + "' exists; not changed", path_ + "/" + name);
  Volume v;
  v.name = name;
  v.kind = from.kind;
  v.size = from.size;
  v.created_unix = now_unix();
  v.origin = origin;
  v.snapshot = read_only;
  if (dry) {
    v.path = path_ + "/" + name;
    dry->actions.push_back(std::string(from.kind == Kind::block ? "FICLONE image " : "snapshot subvolume ") + from.path +
                           " as " + v.path);
    if (read_only) dry->actions.push_back(from.kind == Kind::block ? "make it immutable" : "make it read-only");
    return v;
  }
  InProgress tmp(dir_, in_progress_name(name));
  if (from.kind == Kind::block) {
    io::Fd src = open_entry(dir_, path_, origin, O_RDONLY);
    const int fd = ::openat(dir_.get(), tmp.name().c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw_sys("create", path_ + "/" + tmp.name(), errno);
    io::Fd f(fd, path_ + "/" + tmp.name());
    // btrfs reflinks only between files alike in nodatacow (chattr +C): the copy takes the
    // origin's flag while it is still empty (the only time the flag can be set).
    if (inode_flags(src) & FS_NOCOW_FL) set_inode_flag(f, FS_NOCOW_FL, true);
    // Shares every extent: what an attached writer has not flushed is not in it (flush first).
    if (::ioctl(f.get(), FICLONE, src.get()) != 0) throw_sys("FICLONE from " + from.path + " to", f.path(), errno);
    crash_point("volume:after-clone");
    write_meta(f, v);
    f.fsync();
  } else {
    io::Fd src = open_entry(dir_, path_, origin, O_RDONLY | O_DIRECTORY);
    errno = 0;
    auto err = btrfs_util_create_snapshot_fd2(src.get(), dir_.get(), tmp.name().c_str(), 0, nullptr, nullptr);
    if (err) btrfs::throw_util(err, "snapshot " + from.path + " as", path_ + "/" + tmp.name());
    crash_point("volume:after-clone");
    io::Fd f = open_entry(dir_, path_, tmp.name(), O_RDONLY | O_DIRECTORY);
    // The kernel copies the origin's qgroup limit to a snapshot, and a full origin would leave the
    // copy unwritable (its metadata included): a copy starts without a limit.
    if (from.limit.bytes) set_limit(f, 0, classic_qgroups_);
    write_meta(f, v);
    f.fsync();
    if (read_only) {
      errno = 0;
      auto ro = btrfs_util_set_subvolume_read_only_fd(f.get(), true);
      if (ro) btrfs::throw_util(ro, "make read-only", f.path());
    }
  }
  crash_point("volume:before-publish");
  publish(dir_, tmp.name(), name);
  tmp.published();
  // An immutable file cannot be renamed: the flag comes after the publish (a crash in between
  // leaves a snapshot without it, which sweep_incomplete() sets again).
  if (read_only && from.kind == Kind::block) set_immutable(open_entry(dir_, path_, name, O_RDONLY), true);
  return describe(name);
}

Volume Store::clone(const std::string& origin, const std::string& name, DryRun* dry) { return copy(origin, name, false, dry); }
Volume Store::snapshot(const std::string& origin, const std::string& name, DryRun* dry) { return copy(origin, name, true, dry); }

Volume Store::remove(const std::string& name, DryRun* dry) {
  require_volume_name(name);
  StoreLock lock(dir_);
  Volume v = describe(name);
  io::Fd entry = open_entry(dir_, path_, name, O_RDONLY);
  if (auto holder = holder_of(entry, v.kind == Kind::fs))
    throw_validation("volume '" + name + "' is in use: " + *holder + "; detach or unmount it first", v.path);
  if (dry) {
    dry->actions.push_back(std::string("delete ") + (v.kind == Kind::block ? "image " : "subvolume ") + v.path);
    return v;
  }
  if (v.kind == Kind::block && v.snapshot) set_immutable(entry, false);  // or it cannot be renamed
  // Renamed away first: from here a crash leaves no volume, and sweep_incomplete() finishes.
  const std::string gone = in_progress_name(name);
  if (::renameat2(dir_.get(), name.c_str(), dir_.get(), gone.c_str(), RENAME_NOREPLACE) != 0)
    throw_sys("rename in", path_, errno);
  dir_.fsync();
  crash_point("volume:after-unpublish");
  destroy(dir_, gone);
  return v;
}

size_t Store::sweep_incomplete() {
  StoreLock lock(dir_);
  const std::vector<std::string> left =
      entry_names(dir_, [](const std::string& n) { return n.rfind(kInProgressPrefix, 0) == 0; });
  for (const auto& n : left) destroy(dir_, n);
  if (!left.empty()) dir_.fsync();
  // Block snapshots a crash left without their immutable flag (publish, then the flag; remove
  // lifts it before renaming away) get it again.
  for (const auto& v : list())
    if (v.kind == Kind::block && v.snapshot) set_immutable(open_entry(dir_, path_, v.name, O_RDONLY), true);
  return left.size();
}

}  // namespace mos::engine::volumes
