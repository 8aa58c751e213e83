// What the daemon remembers across restarts, under --state-dir (default /var/lib/mos_volmgrd):
// the recent jobs (jobs.json) and the last scrub per btrfs (scrub.<fsid>.json, like btrfs-progs'
// /var/lib/btrfs/scrub.status.<fsid>, in our own JSON). Files are written atomically (temp file,
// fsync, rename, fsync of the directory) and read with a size bound; a corrupt or oversized file
// is renamed to <name>.corrupt, reported as a warning, and otherwise ignored.
#pragma once
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/jobs/jobs.hpp"
#include "engine/json.hpp"

namespace mos::engine {

class StateStore {
 public:
  static constexpr size_t kMaxFileBytes = 4u << 20;
  static constexpr size_t kMaxJobsKept = 256;

  // Creates dir (mode 0700) when missing; throws mos::Error when it cannot.
  explicit StateStore(std::string dir, std::FILE* warnings = stderr);

  std::vector<JobInfo> load_jobs();
  // Keeps the active jobs and the newest finished ones (at most kMaxJobsKept in all).
  void save_jobs(const std::vector<JobInfo>& jobs);

  // The stored scrub report of a filesystem (fsid as blkid prints it), nullopt when none.
  std::optional<json> load_scrub(const std::string& fsid);
  void save_scrub(const std::string& fsid, const json& report);

  const std::string& dir() const { return dir_; }

 private:
  std::optional<json> read_json(const std::string& name);
  void write_json(const std::string& name, const json& value);
  void warn(const std::string& message);

  std::string dir_;
  std::FILE* warnings_;
  std::mutex mu_;
};

}  // namespace mos::engine
