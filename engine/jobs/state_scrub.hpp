// Scrub results that survive a daemon restart: each scrub run through a job is recorded in the
// state directory (scrub.<fsid>.json) when it starts and when it ends; scrub status falls back
// to that record when this process has seen no scrub of the filesystem. A record still saying
// "running" was left by a daemon that died mid-scrub and reads as "interrupted".
#pragma once
#include <optional>
#include <string>

#include "engine/btrfs/scrub.hpp"
#include "engine/context.hpp"
#include "engine/json.hpp"

namespace mos::engine {

// btrfs::scrub_run with start and end recorded in ctx.state (when set).
btrfs::ScrubReport scrub_run_recorded(const Context& ctx, const std::string& mount_point, bool read_only,
                                      const btrfs::ProgressFn& progress, btrfs::CancelFlag cancel, uint64_t job_id);
// btrfs::scrub_status as JSON; state "none" is replaced by the stored record when there is one.
json scrub_status_recorded(const Context& ctx, const std::string& mount_point);
// The stored record of a filesystem (interrupted when it still says running), nullopt when none.
std::optional<json> scrub_record(const Context& ctx, const std::string& fsid);

}  // namespace mos::engine
