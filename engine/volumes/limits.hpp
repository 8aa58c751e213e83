// Size limits of fs volumes: the max referenced bytes of the subvolume's level-0 qgroup, enforced
// by btrfs simple quotas where the running kernel has them (6.7+, tried first) and by qgroups
// otherwise. Quota is enabled only when a limit is set (it costs every write of the filesystem,
// and it is filesystem-wide: it is never turned off again here, other volumes may rely on it).
#pragma once
#include <cstdint>
#include <optional>

#include "ioctl/fd.hpp"

namespace mos::engine::volumes {

enum class LimitMode { none, simple, qgroup };
const char* limit_mode_name(LimitMode m);

struct Limit {
  std::optional<uint64_t> bytes;       // null: no limit
  LimitMode mode = LimitMode::none;    // how `bytes` is enforced; none without a limit
  bool inconsistent = false;           // the kernel marked the qgroup figures inconsistent
  std::optional<uint64_t> used_bytes;  // the bytes the quota counts against the limit
};

// The limit of the subvolume `subvolume` (an open fd of its root directory).
Limit read_limit(const io::Fd& subvolume);
// Sets (bytes > 0) or removes (0) the limit; enables quota only to set one, with simple quotas
// tried first unless classic_qgroups (quota already on keeps its mode either way).
Limit set_limit(const io::Fd& subvolume, uint64_t bytes, bool classic_qgroups);
// For a dry run, without writing: the mode quota runs in, or the one enabling it would pick
// (simple where the kernel lists the simple_quota feature and classic_qgroups is not set).
LimitMode predicted_limit_mode(const io::Fd& subvolume, bool classic_qgroups);

}  // namespace mos::engine::volumes
