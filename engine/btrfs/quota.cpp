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

// Older UAPI headers lack the simple-quota names (kernel 6.7).
#ifndef BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA
#define BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA 4
#endif
#ifndef BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE
#define BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE (1ULL << 3)
#endif

QuotaStatus quota_status(const io::Fd& fs) {
  QuotaStatus st;
  SearchRange r;
  r.tree_id = BTRFS_QUOTA_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = 0;
  r.min_type = r.max_type = BTRFS_QGROUP_STATUS_KEY;
  tree_search(fs, r, [&](const SearchItem& it) {
    st.mode = QuotaMode::qgroup;  // quota is on, whatever the item says
    if (it.len < offsetof(btrfs_qgroup_status_item, flags) + sizeof(uint64_t)) return;
    const uint64_t flags = load_le64(it.data + offsetof(btrfs_qgroup_status_item, flags));
    if (flags & BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE) st.mode = QuotaMode::simple;
    st.inconsistent = (flags & BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT) != 0;
  });
  return st;
}

QuotaMode enable_quota(const io::Fd& fs, bool prefer_simple, bool* enabled_now) {
  *enabled_now = false;
  QuotaMode mode = quota_status(fs).mode;
  if (mode == QuotaMode::off) {
    btrfs_ioctl_quota_ctl_args ctl{};
    mode = QuotaMode::qgroup;
    if (prefer_simple) {
      ctl.cmd = BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA;
      if (ioctl(fs.get(), BTRFS_IOC_QUOTA_CTL, &ctl) == 0) mode = QuotaMode::simple;
      else if (errno != EINVAL && errno != EOPNOTSUPP) throw_sys("BTRFS_IOC_QUOTA_CTL enable simple quota", fs.path(), errno);
    }
    if (mode == QuotaMode::qgroup) {
      ctl.cmd = BTRFS_QUOTA_CTL_ENABLE;
      if (ioctl(fs.get(), BTRFS_IOC_QUOTA_CTL, &ctl) < 0) throw_sys("BTRFS_IOC_QUOTA_CTL enable", fs.path(), errno);
    }
    *enabled_now = true;
  }
  // Enabling qgroups starts a rescan; limits and figures are only meaningful once it is done.
  if (ioctl(fs.get(), BTRFS_IOC_QUOTA_RESCAN_WAIT, 0) < 0 && errno != ENOTCONN)
    throw_sys("BTRFS_IOC_QUOTA_RESCAN_WAIT", fs.path(), errno);
  return mode;
}

void limit_qgroup(const io::Fd& fs, uint64_t subvolume_id, uint64_t max_bytes) {
  btrfs_ioctl_qgroup_limit_args lim{};
  lim.qgroupid = subvolume_id;
  lim.lim.flags = BTRFS_QGROUP_LIMIT_MAX_RFER;
  lim.lim.max_rfer = max_bytes == 0 ? UINT64_MAX : max_bytes;
  if (ioctl(fs.get(), BTRFS_IOC_QGROUP_LIMIT, &lim) < 0)
    throw_sys("BTRFS_IOC_QGROUP_LIMIT 0/" + std::to_string(subvolume_id), fs.path(), errno);
  // Commit so the quota tree (and anyone reading it) sees the new limit.
  if (auto err = btrfs_util_sync_fd(fs.get()))
    throw Error(ErrorCode::storage_failed, std::string("sync ") + fs.path() + ": " + btrfs_util_strerror(err));
}

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
  enable_quota(fs, false, &enabled_now);
  limit_qgroup(fs, id, max_bytes);

  auto q = read_qgroup(fs, id);
  if (!q) throw Error(ErrorCode::storage_failed, "qgroup 0/" + std::to_string(id) + " not found after setting the limit");
  q->subvolume = name;
  q->quota_enabled_now = enabled_now;
  return *q;
}

}  // namespace mos::engine::btrfs
