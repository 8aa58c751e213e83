#include "engine/btrfs/quota.hpp"

#include <btrfsutil.h>
#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <sys/ioctl.h>

#include <cerrno>

#include "engine/btrfs/search.hpp"
#include "engine/btrfs/subvolumes.hpp"
#include "base/bytes.hpp"
#include "base/error.hpp"

namespace mos::engine::btrfs {

namespace {

bool quota_enabled(const io::Fd& fs) {
  bool found = false;
  SearchRange r;
  r.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = 0;
  r.min_type = r.max_type = BTRFS_QGROUP_STATUS_KEY;
  tree_search(fs, r, [&](const SearchItem&) { found = true; });
  return found;
}

}  // namespace

std::optional<QuotaInfo> read_qgroup(const io::Fd& fs, uint64_t subvolume_id) {
  std::optional<QuotaInfo> q;
  SearchRange r;
  r.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = 0;
  r.min_type = BTRFS_QGROUP_INFO_KEY;
  r.max_type = BTRFS_QGROUP_LIMIT_KEY;
  r.min_offset = r.max_offset = subvolume_id;  // level 0: qgroupid == subvolid
  tree_search(fs, r, [&](const SearchItem& it) {
    if (it.offset != subvolume_id) return;
    if (!q) {
      q.emplace();
      q->subvolume_id = subvolume_id;
      q->qgroupid = "0/" + std::to_string(subvolume_id);
    }
    if (it.type == BTRFS_QGROUP_INFO_KEY && it.len >= sizeof(btrfs_qgroup_info_item)) {
      q->referenced_bytes = load_le64(it.data + offsetof(btrfs_qgroup_info_item, rfer));
      q->exclusive_bytes = load_le64(it.data + offsetof(btrfs_qgroup_info_item, excl));
    } else if (it.type == BTRFS_QGROUP_LIMIT_KEY && it.len >= sizeof(btrfs_qgroup_limit_item)) {
      uint64_t flags = load_le64(it.data + offsetof(btrfs_qgroup_limit_item, flags));
      uint64_t rfer = load_le64(it.data + offsetof(btrfs_qgroup_limit_item, max_rfer));
      uint64_t excl = load_le64(it.data + offsetof(btrfs_qgroup_limit_item, max_excl));
      if ((flags & BTRFS_QGROUP_LIMIT_MAX_RFER) && rfer != UINT64_MAX) q->max_referenced_bytes = rfer;
      if ((flags & BTRFS_QGROUP_LIMIT_MAX_EXCL) && excl != UINT64_MAX) q->max_exclusive_bytes = excl;
    }
  });
  return q;
}

QuotaInfo set_quota(const std::string& name, uint64_t max_bytes, const std::optional<std::string>& filesystem,
                    const Context& ctx) {
  validate_subvolume_name(name);
  TopLevel top = open_top_level(filesystem, ctx);
  uint64_t id = subvolume_id_by_name(top, name);
  const io::Fd& fs = top.fd();

  bool enabled_now = false;
  if (!quota_enabled(fs)) {
    btrfs_ioctl_quota_ctl_args ctl{};
    ctl.cmd = BTRFS_QUOTA_CTL_ENABLE;
    if (ioctl(fs.get(), BTRFS_IOC_QUOTA_CTL, &ctl) < 0) throw_sys("BTRFS_IOC_QUOTA_CTL enable", top.path(), errno);
    enabled_now = true;
  }
  // Enabling starts a rescan; limits and figures are only meaningful once it is done.
  if (ioctl(fs.get(), BTRFS_IOC_QUOTA_RESCAN_WAIT, 0) < 0 && errno != ENOTCONN)
    throw_sys("BTRFS_IOC_QUOTA_RESCAN_WAIT", top.path(), errno);

  btrfs_ioctl_qgroup_limit_args lim{};
  lim.qgroupid = id;
  lim.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
  lim.lim.max_rfer = max_bytes == 0 ? UINT64_MAX : max_bytes;
  if (ioctl(fs.get(), BTRFS_IOC_QGROUP_LIMIT, &lim) < 0)
    throw_sys("BTRFS_IOC_QGROUP_LIMIT 0/" + std::to_string(id), top.path(), errno);
  // Commit so the quota tree (and anyone reading it) sees the new limit.
  if (auto err = btrfs_util_sync_fd(fs.get()))
    throw Error(ErrorCode::storage_failed, std::string("sync ") + top.path() + ": " + btrfs_util_strerror(err));

  auto q = read_qgroup(fs, id);
  if (!q) throw Error(ErrorCode::storage_failed, "qgroup 0/" + std::to_string(id) + " not found after setting the limit");
  q->subvolume = name;
  q->quota_enabled_now = enabled_now;
  return *q;
}

}  // namespace mos::engine::btrfs
