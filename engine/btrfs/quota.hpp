// Quota on a subvolume: enables qgroups when needed (QUOTA_CTL, waiting for the rescan), then
// sets max referenced bytes on qgroup 0/<subvolid> (QGROUP_LIMIT); reads the qgroup back.
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

// max_bytes 0 removes the limit. The filesystem is judged whole (open_top_level).
QuotaInfo set_quota(const std::string& name, uint64_t max_bytes, const std::optional<std::string>& filesystem,
                    const Context& ctx);
// Qgroup 0/<subvolid> as stored in the quota tree; nullopt if quota is off or no such qgroup.
std::optional<QuotaInfo> read_qgroup(const io::Fd& fs, uint64_t subvolume_id);

}  // namespace mos::engine::btrfs
