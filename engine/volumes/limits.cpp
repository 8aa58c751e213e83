#include "engine/volumes/limits.hpp"

#include <btrfsutil.h>
#include <unistd.h>

#include "engine/btrfs/quota.hpp"
#include "engine/btrfs/util_error.hpp"

namespace mos::engine::volumes {

namespace {

namespace bt = btrfs;

uint64_t subvolume_id(const io::Fd& subvolume) {
  uint64_t id = 0;
  errno = 0;
  if (auto err = btrfs_util_subvolume_id_fd(subvolume.get(), &id)) bt::throw_util(err, "subvolume id of", subvolume.path());
  return id;
}

LimitMode mode_of(bt::QuotaMode m) {
  return m == bt::QuotaMode::simple ? LimitMode::simple : m == bt::QuotaMode::qgroup ? LimitMode::qgroup : LimitMode::none;
}

}  // namespace

const char* limit_mode_name(LimitMode m) {
  return m == LimitMode::simple ? "simple" : m == LimitMode::qgroup ? "qgroup" : "none";
}

Limit read_limit(const io::Fd& subvolume) {
  Limit l;
  const bt::QuotaStatus st = bt::quota_status(subvolume);
  if (st.mode == bt::QuotaMode::off) return l;
  l.inconsistent = st.inconsistent;
  auto q = bt::read_qgroup(subvolume, subvolume_id(subvolume));
  if (!q) return l;
  l.used_bytes = q->referenced_bytes;
  if (q->max_referenced_bytes) {
    l.bytes = q->max_referenced_bytes;
    l.mode = mode_of(st.mode);
  }
  return l;
}

Limit set_limit(const io::Fd& subvolume, uint64_t bytes, bool classic_qgroups) {
  const uint64_t id = subvolume_id(subvolume);
  if (bytes == 0) {
    // No quota, no limit to remove: never turn quota on for nothing.
    if (bt::quota_status(subvolume).mode != bt::QuotaMode::off && bt::read_qgroup(subvolume, id))
      bt::limit_qgroup(subvolume, id, 0);
  } else {
    bool enabled_now = false;
    bt::enable_quota(subvolume, !classic_qgroups, &enabled_now);
    bt::limit_qgroup(subvolume, id, bytes);
  }
  return read_limit(subvolume);
}

LimitMode predicted_limit_mode(const io::Fd& subvolume, bool classic_qgroups) {
  const bt::QuotaMode now = bt::quota_status(subvolume).mode;
  if (now != bt::QuotaMode::off) return mode_of(now);
  if (classic_qgroups) return LimitMode::qgroup;
  return ::access("/sys/fs/btrfs/features/simple_quota", F_OK) == 0 ? LimitMode::simple : LimitMode::qgroup;
}

}  // namespace mos::engine::volumes
