#include "engine/jobs/state_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "base/error.hpp"
#include "base/safe_text.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {
namespace {

// fsids name files: only the characters of a text UUID are accepted.
bool valid_fsid(const std::string& fsid) {
  return !fsid.empty() && fsid.size() <= 64 &&
         std::all_of(fsid.begin(), fsid.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == '-'; });
}

void write_all(int fd, const std::string& data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("write", path, errno);
    off += static_cast<size_t>(n);
  }
}

}  // namespace

StateStore::StateStore(std::string dir, std::FILE* warnings) : dir_(std::move(dir)), warnings_(warnings) {
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) throw_sys("mkdir state directory", dir_, errno);
  struct stat st {};
  if (::stat(dir_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(ErrorCode::storage_failed, "state directory " + dir_ + " is not a directory; fix --state-dir", dir_);
}

void StateStore::warn(const std::string& message) {
  if (warnings_) std::fprintf(warnings_, "mos_volmgrd: warning: %s\n", printable_text(message).c_str());
}

std::optional<json> StateStore::read_json(const std::string& name) {
  const std::string path = dir_ + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno != ENOENT) warn("cannot read " + path + ": " + std::strerror(errno) + "; ignored");
    return std::nullopt;
  }
  io::Fd owned(fd, path);
  struct stat st {};
  std::string why;
  std::string data;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    why = "larger than " + std::to_string(kMaxFileBytes) + " bytes";
  } else {
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    json parsed = json::parse(data, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) return parsed;
    why = "not a JSON object";
  }
  owned.close();
  ::rename(path.c_str(), (path + ".corrupt").c_str());
  warn("state file " + path + " is " + why + "; ignored (kept as " + path + ".corrupt)");
  return std::nullopt;
}

void StateStore::write_json(const std::string& name, const json& value) {
  const std::string path = dir_ + "/" + name;
  const std::string tmp = dir_ + "/." + name + ".tmp";
  std::string data = json_text(value) + "\n";
  if (data.size() > kMaxFileBytes) throw Error(ErrorCode::internal, "state " + path + " would exceed its size bound", path);
  {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw_sys("create", tmp, errno);
    io::Fd f(fd, tmp);
    write_all(fd, data, tmp);
    if (::fsync(fd) != 0) throw_sys("fsync", tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_sys("rename", tmp, errno);
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) throw_sys("open", dir_, errno);
  io::Fd d(dfd, dir_);
  if (::fsync(dfd) != 0) throw_sys("fsync", dir_, errno);
}

std::vector<JobInfo> StateStore::load_jobs() {
  std::lock_guard lk(mu_);
  std::vector<JobInfo> out;
  auto doc = read_json("jobs.json");
  if (!doc) return out;
  const json& list = (*doc)["jobs"];
  if (!list.is_array()) {
    warn("state file " + dir_ + "/jobs.json has no \"jobs\" array; ignored");
    return out;
  }
  for (const auto& j : list) {
    if (out.size() >= kMaxJobsKept) break;
    try {
      out.push_back(job_from_json(j));
    } catch (const json::exception& e) {
      warn("state file " + dir_ + "/jobs.json: a job entry is malformed (" + e.what() + "); skipped");
    }
  }
  return out;
}

void StateStore::save_jobs(const std::vector<JobInfo>& jobs) {
  std::lock_guard lk(mu_);
  size_t active = static_cast<size_t>(std::count_if(jobs.begin(), jobs.end(), [](const JobInfo& i) { return i.active(); }));
  size_t finished_room = kMaxJobsKept > active ? kMaxJobsKept - active : 0;
  std::vector<const JobInfo*> keep;  // newest first
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it)
    if (it->active() || (finished_room > 0 && finished_room--)) keep.push_back(&*it);
  json list = json::array();
  for (auto it = keep.rbegin(); it != keep.rend(); ++it) list.push_back(**it);
  write_json("jobs.json", {{"version", 1}, {"jobs", std::move(list)}});
}

std::optional<json> StateStore::load_scrub(const std::string& fsid) {
  if (!valid_fsid(fsid)) return std::nullopt;
  std::lock_guard lk(mu_);
  return read_json("scrub." + fsid + ".json");
}

void StateStore::save_scrub(const std::string& fsid, const json& report) {
  if (!valid_fsid(fsid)) throw Error(ErrorCode::internal, "refusing to name a state file after fsid '" + fsid + "'");
  std::lock_guard lk(mu_);
  write_json("scrub." + fsid + ".json", report);
}

}  // namespace mos::engine
