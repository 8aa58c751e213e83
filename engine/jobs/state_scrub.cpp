#include "engine/jobs/state_scrub.hpp"

#include <ctime>

#include "engine/btrfs/json.hpp"
#include "engine/jobs/state_store.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

void record(const Context& ctx, const std::string& fsid, json report, uint64_t job_id) {
  if (!ctx.state) return;
  report["job_id"] = job_id;
  report["recorded_unix"] = static_cast<int64_t>(std::time(nullptr));
  try {
    ctx.state->save_scrub(fsid, report);
  } catch (const Error&) {  // the scrub itself matters more than its record
  }
}

}  // namespace

btrfs::ScrubReport scrub_run_recorded(const Context& ctx, const std::string& mount_point, bool read_only,
                                      const btrfs::ProgressFn& progress, btrfs::CancelFlag cancel, uint64_t job_id) {
  // One judged handle: the record is filed under the fsid of the filesystem the scrub runs on.
  const io::Fd fs = btrfs::open_judged_btrfs(mount_point, ctx);
  const std::string fsid = btrfs::fs_facts(fs).fsid;
  btrfs::ScrubReport started;
  started.fsid = fsid;
  started.mount_point = mount_point;
  started.state = "running";
  started.started_unix = static_cast<int64_t>(std::time(nullptr));
  record(ctx, fsid, started, job_id);
  try {
    btrfs::ScrubReport done = btrfs::scrub_run(fs, read_only, progress, cancel);
    record(ctx, fsid, done, job_id);
    return done;
  } catch (const Error& e) {
    btrfs::ScrubReport failed = started;
    failed.state = "failed";
    failed.finished_unix = static_cast<int64_t>(std::time(nullptr));
    json j = failed;
    j["error"] = e.what();
    record(ctx, fsid, j, job_id);
    throw;
  }
}

std::optional<json> scrub_record(const Context& ctx, const std::string& fsid) {
  if (!ctx.state) return std::nullopt;
  auto r = ctx.state->load_scrub(fsid);
  if (!r) return std::nullopt;
  if ((*r)["state"] == "running") {
    (*r)["state"] = "interrupted";
    (*r)["error"] = "the daemon stopped while this scrub was running";
  }
  (*r)["from_state_dir"] = true;
  return r;
}

json scrub_status_recorded(const Context& ctx, const std::string& mount_point) {
  btrfs::ScrubReport live = btrfs::scrub_status(mount_point, ctx);
  if (live.state == "none")
    if (auto stored = scrub_record(ctx, live.fsid)) return *stored;
  return live;
}

}  // namespace mos::engine
