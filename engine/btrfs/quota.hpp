// Quota on a subvolume: enables quota when needed (QUOTA_CTL: simple quotas or qgroups, waiting
// for the rescan), then sets max referenced bytes on qgroup 0/<subvolid> (QGROUP_LIMIT); reads
// the qgroup and the quota status back. Enabling quota is filesystem-wide and costs every write.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "engine/btrfs/fs.hpp"

namespace mos::engine::btrfs {

struct QuotaInfo {
  std::string subvolume;
  uint64_t subvolume_id = 0;
  std::string qgroupid;                          // "0/<subvolid>"
  std::optional<uint64_t> max_referenced_bytes;  // null = no limit
  std::optional<uint64_t> max_exclusive_bytes;
  uint64_t referenced_bytes = 0;
  uint64_t exclusive_bytes = 0;
  bool quota_enabled_now = false;  // this call turned quota on
};

// off: no quota status item. simple: simple quotas (kernel 6.7+, owner-only accounting that
// stays consistent); qgroup: full qgroup accounting, which can become inconsistent.
enum class QuotaMode { off, qgroup, simple };
struct QuotaStatus {
  QuotaMode mode = QuotaMode::off;
  bool inconsistent = false;  // BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT: figures and limits are not to be trusted
};
// `fs` is any open file or directory of the filesystem.
QuotaStatus quota_status(const io::Fd& fs);

// Turns quota on when it is off and waits for the rescan; answers the mode it runs in and whether
// this call turned it on. With prefer_simple, simple quotas are tried first and qgroups used
// when the kernel refuses them (EINVAL / EOPNOTSUPP: a kernel before 6.7).
QuotaMode enable_quota(const io::Fd& fs, bool prefer_simple, bool* enabled_now);
// Max referenced bytes of qgroup 0/<subvolume_id> (0 removes the limit), committed.
void limit_qgroup(const io::Fd& fs, uint64_t subvolume_id, uint64_t max_bytes);

// max_bytes 0 removes the limit. The filesystem is judged whole (open_top_level).
QuotaInfo set_quota(const std::string& name, uint64_t max_bytes, const std::optional<std::string>& filesystem,
                    const Context& ctx);
// Qgroup 0/<subvolid> as stored in the quota tree; nullopt if quota is off or no such qgroup.
std::optional<QuotaInfo> read_qgroup(const io::Fd& fs, uint64_t subvolume_id);

}  // namespace mos::engine::btrfs
