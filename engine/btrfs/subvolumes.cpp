#include "engine/btrfs/subvolumes.hpp"

#include <btrfsutil.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "base/text.hpp"
#include "engine/btrfs/util_error.hpp"

namespace mos::engine::btrfs {

namespace {

constexpr uint64_t kRootSubvolRdonly = 1;  // BTRFS_ROOT_SUBVOL_RDONLY in root_item.flags

SubvolumeInfo to_info(const struct btrfs_util_subvolume_info& s, std::string path) {
  SubvolumeInfo i;
  i.id = s.id;
  i.parent_id = s.parent_id;
  i.path = std::move(path);
  i.uuid = mos::uuid_text(s.uuid);
  if (!all_zero(s.parent_uuid, 16)) i.parent_uuid = mos::uuid_text(s.parent_uuid);
  i.read_only = s.flags & kRootSubvolRdonly;
  i.generation = s.generation;
  i.created_unix = s.otime.tv_sec;
  return i;
}

SubvolumeInfo info_by_id(const TopLevel& top, uint64_t id, const std::string& path) {
  struct btrfs_util_subvolume_info s{};
  errno = 0;
  auto err = btrfs_util_subvolume_info_fd(top.fd().get(), id, &s);
  if (err) throw_util(err, "subvolume info", top.path() + "/" + path);
  return to_info(s, path);
}

// Every subvolume below the top level (id 5), pre-order; `fd` is any directory of the
// filesystem (from a subvolume mount too: root lists the whole tree).
std::vector<SubvolumeInfo> all_subvolumes(int fd, const std::string& where) {
  std::vector<SubvolumeInfo> out;
  btrfs_util_subvolume_iterator* it = nullptr;
  errno = 0;
  auto err = btrfs_util_create_subvolume_iterator_fd(fd, 5, 0, &it);
  if (err) throw_util(err, "list subvolumes of", where);
  for (;;) {
    char* path = nullptr;
    struct btrfs_util_subvolume_info s{};
    errno = 0;
    err = btrfs_util_subvolume_iterator_next_info(it, &path, &s);
    if (err == BTRFS_UTIL_ERROR_STOP_ITERATION) break;
    if (err) {
      btrfs_util_destroy_subvolume_iterator(it);
      throw_util(err, "list subvolumes of", where);
    }
    out.push_back(to_info(s, path));
    free(path);
  }
  btrfs_util_destroy_subvolume_iterator(it);
  return out;
}

bool exists_in_top(const TopLevel& top, const std::string& name) {
  struct stat st {};
  return fstatat(top.fd().get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

}  // namespace

uint64_t subvolume_id_by_name(const TopLevel& top, const std::string& name) {
  struct stat st {};
  std::string full = top.path() + "/" + name;
  if (fstatat(top.fd().get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
    throw Error(ErrorCode::not_found, "subvolume '" + name + "' does not exist", full, errno);
  // A subvolume root is a directory with inode number 256 (BTRFS_FIRST_FREE_OBJECTID).
  if (!S_ISDIR(st.st_mode) || st.st_ino != 256)
    throw_validation("'" + name + "' exists but is not a subvolume", full);
  int fd = openat(top.fd().get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_sys("open", full, errno);
  io::Fd sub(fd, full);
  uint64_t id = 0;
  errno = 0;
  auto err = btrfs_util_subvolume_id_fd(fd, &id);
  if (err) throw_util(err, "subvolume id", full);
  return id;
}

SubvolumeList list_subvolumes(const std::optional<std::string>& filesystem, const Context& ctx) {
  TopLevel top = open_top_level(filesystem, ctx, Mounting::never);  // a query never mounts
  SubvolumeList out;
  out.fsid = top.fsid();
  out.top_level_path = top.at_top_level() ? top.path() : "";
  out.subvolumes = all_subvolumes(top.fd().get(), top.path());
  return out;
}

SubvolumeList list_subvolumes_of_mount(const std::string& mount_path) {
  io::Fd fs = open_btrfs_path(mount_path);
  SubvolumeList out;
  out.fsid = fs_facts(fs).fsid;
  out.top_level_path = mount_path;
  out.subvolumes = all_subvolumes(fs.get(), mount_path);
  return out;
}

SubvolumeInfo create_subvolume(const std::string& name, const std::optional<std::string>& filesystem,
                               const Context& ctx) {
  validate_subvolume_name(name);
  TopLevel top = open_top_level(filesystem, ctx);
  if (exists_in_top(top, name))
    throw_validation("'" + name + "' already exists in " + top.path(), top.path() + "/" + name);
  errno = 0;
  auto err = btrfs_util_create_subvolume_fd(top.fd().get(), name.c_str(), 0, nullptr, nullptr);
  if (err) throw_util(err, "create subvolume", top.path() + "/" + name);
  return info_by_id(top, subvolume_id_by_name(top, name), name);
}

SubvolumeInfo delete_subvolume(const std::string& name, const std::optional<std::string>& filesystem,
                               const Context& ctx) {
  validate_subvolume_name(name);
  if (is_core_subvolume(name))
    throw_validation("'" + name + "' is a core subvolume of the system and is never deleted", name);
  TopLevel top = open_top_level(filesystem, ctx);
  SubvolumeInfo info = info_by_id(top, subvolume_id_by_name(top, name), name);
  errno = 0;
  auto err = btrfs_util_delete_subvolume_fd(top.fd().get(), name.c_str(), 0);
  if (err) throw_util(err, "delete subvolume", top.path() + "/" + name);
  return info;
}

SubvolumeInfo snapshot_subvolume(const std::string& source, const std::string& snapshot,
                                 const std::optional<std::string>& filesystem, const Context& ctx) {
  validate_subvolume_name(source, "source subvolume name");
  validate_subvolume_name(snapshot, "snapshot name");
  TopLevel top = open_top_level(filesystem, ctx);
  subvolume_id_by_name(top, source);
  if (exists_in_top(top, snapshot))
    throw_validation("'" + snapshot + "' already exists in " + top.path(), top.path() + "/" + snapshot);
  std::string src_path = top.path() + "/" + source;
  int fd = openat(top.fd().get(), source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw_sys("open", src_path, errno);
  io::Fd src(fd, src_path);
  errno = 0;
  auto err = btrfs_util_create_snapshot_fd2(fd, top.fd().get(), snapshot.c_str(),
                                            BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, nullptr, nullptr);
  if (err) throw_util(err, "snapshot " + src_path + " as", top.path() + "/" + snapshot);
  return info_by_id(top, subvolume_id_by_name(top, snapshot), snapshot);
}

}  // namespace mos::engine::btrfs
