#include "engine/jobs/jobs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

#include "engine/inventory/events.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

int64_t now_unix() { return static_cast<int64_t>(std::time(nullptr)); }

// Progress events per job are rate-limited to two per second (the final state always goes out).
constexpr auto kProgressEventInterval = std::chrono::milliseconds(500);

}  // namespace

void to_json(json& j, const JobInfo& i) {
  j = json{{"id", i.id},       {"kind", i.kind},   {"target", i.target},
           {"state", i.state}, {"done", i.done},   {"total", i.total},
           {"error", i.error}, {"error_code", i.error_code}, {"result", i.result},
           {"queued_unix", i.queued_unix}, {"started_unix", i.started_unix}, {"finished_unix", i.finished_unix}};
  j["percent"] = i.total ? (100.0 * static_cast<double>(i.done) / static_cast<double>(i.total)) : 0.0;
}

JobInfo job_from_json(const json& j) {
  JobInfo i;
  i.id = json_integer<uint64_t>(j, "id");
  i.kind = j.at("kind").get<std::string>();
  i.target = j.at("target").get<std::string>();
  i.state = j.at("state").get<std::string>();
  i.done = j.value("done", uint64_t{0});
  i.total = j.value("total", uint64_t{0});
  if (j.contains("error") && j["error"].is_string()) i.error = j["error"].get<std::string>();
  if (j.contains("error_code") && j["error_code"].is_number_integer()) i.error_code = json_integer<int>(j, "error_code");
  i.result = j.value("result", json(nullptr));
  i.queued_unix = j.value("queued_unix", int64_t{0});
  i.started_unix = j.value("started_unix", int64_t{0});
  if (j.contains("finished_unix") && j["finished_unix"].is_number_integer())
    i.finished_unix = json_integer<int64_t>(j, "finished_unix");
  return i;
}

void JobHandle::progress(uint64_t done, uint64_t total) {
  if (report_) report_(done, total);
}

void JobHandle::check_cancelled() const {
  if (cancelled()) throw Error(ErrorCode::storage_failed, "cancelled");
}

Jobs::Jobs(JobsOptions options, EventBus* events) : options_(std::move(options)), events_(events) {
  if (options_.workers == 0) options_.workers = 1;
  if (!options_.spawn) options_.spawn = [](std::function<void()> f) { return std::thread(std::move(f)); };
}

Jobs::~Jobs() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;  // no new jobs from here on
  }
  cancel_all();
  work_cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

// One more worker while below the pool size and every worker is taken. A creation failure is
// tolerated while another worker exists (the job waits for it); with none it is the caller's error.
void Jobs::ensure_worker_locked() {
  if (threads_.size() >= options_.workers || running_ < threads_.size()) return;
  try {
    threads_.push_back(options_.spawn([this] { worker_loop(); }));
  } catch (const std::system_error& e) {
    if (threads_.empty())
      throw Error(ErrorCode::storage_failed,
                  std::string("cannot create a job worker thread (") + e.what() +
                      "); raise the process/thread limit or lower --job-workers, then retry");
  }
}

uint64_t Jobs::submit(Spec spec) {
  std::vector<Notice> notices;
  uint64_t id;
  {
    std::lock_guard lk(mu_);
    if (stopping_) throw Error(ErrorCode::storage_failed, "busy: the daemon is shutting down");
    prune_locked();
    if (!spec.exclusive_key.empty())
      for (auto& [other_id, e] : jobs_)
        if (e->info.active() && e->info.kind == spec.kind && e->spec.exclusive_key == spec.exclusive_key)
          throw Error(ErrorCode::storage_failed,
                      "a " + spec.kind + " job is already " + e->info.state + " on " + spec.target + " (job " +
                          std::to_string(other_id) + ")",
                      spec.target);
    if (spec.owner_uid != 0) {
      size_t mine = 0;
      for (auto& [other_id, e] : jobs_) mine += e->info.active() && e->spec.owner_uid == spec.owner_uid;
      if (mine >= options_.owner_limit)
        throw Error(ErrorCode::storage_failed, "busy: uid " + std::to_string(spec.owner_uid) + " has " + std::to_string(mine) +
                                                   " unfinished jobs, the most one user may (--max-jobs-per-uid); "
                                                   "wait for one to end or cancel it");
    }
    if (queue_.size() >= options_.queue_limit)
      throw Error(ErrorCode::storage_failed, "busy: " + std::to_string(queue_.size()) + " jobs queued, limit " +
                                                 std::to_string(options_.queue_limit) + "; retry later");
    ensure_worker_locked();
    id = next_id_++;
    auto e = std::make_unique<Entry>();
    e->info.id = id;
    e->info.kind = spec.kind;
    e->info.target = spec.target;
    e->info.state = "queued";
    e->info.queued_unix = now_unix();
    e->spec = std::move(spec);
    notices.push_back({e->info, "queued", nullptr});
    jobs_[id] = std::move(e);
    queue_.push_back(id);
    assign_locked(notices);
  }
  persist();  // durable before anyone hears of it
  announce(std::move(notices));
  return id;
}

uint64_t Jobs::start(const std::string& kind, const std::string& target, Fn fn, std::function<void()> on_cancel) {
  return submit(Spec{kind, target, "", std::move(fn), std::move(on_cancel)});
}

// Moves queued jobs whose key is free to the workers, oldest first, while workers are free.
void Jobs::assign_locked(std::vector<Notice>& out) {
  bool assigned = false;
  for (auto it = queue_.begin(); it != queue_.end() && running_ < threads_.size();) {
    Entry& e = *jobs_.at(*it);
    const std::string& key = e.spec.exclusive_key;
    if (!key.empty() && busy_keys_.count(key)) {
      ++it;
      continue;
    }
    if (!key.empty()) busy_keys_.insert(key);
    e.info.state = "running";
    e.info.started_unix = now_unix();
    ++running_;
    ready_.push_back(*it);
    out.push_back({e.info, "started", nullptr});
    it = queue_.erase(it);
    assigned = true;
  }
  if (assigned) work_cv_.notify_all();
}

// Polling jobs whose time has come (all of them when stopping) go back to free workers first.
void Jobs::wake_due_locked() {
  const auto now = std::chrono::steady_clock::now();
  while (!sleeping_.empty() && running_ < threads_.size() && (stopping_ || sleeping_.begin()->first <= now)) {
    ready_.push_back(sleeping_.begin()->second);
    sleeping_.erase(sleeping_.begin());
    ++running_;
  }
}

void Jobs::worker_loop() {
  std::unique_lock lk(mu_);
  for (;;) {
    for (;;) {
      wake_due_locked();
      if (stopping_ || !ready_.empty()) break;
      if (sleeping_.empty()) {
        work_cv_.wait(lk);
      } else {
        // A copy: wait_until reads its deadline again after waking, and while it waits (the lock
        // released) a cancel or a new sleeper may erase the node that key lives in.
        const auto due = sleeping_.begin()->first;
        work_cv_.wait_until(lk, due);
      }
    }
    if (ready_.empty()) return;  // stopping: an idle worker always had room for the sleepers above
    const uint64_t id = ready_.front();
    ready_.pop_front();
    Entry& e = *jobs_.at(id);  // active entries are never pruned
    Fn fn = std::move(e.spec.fn);
    JobHandle h;
    h.id_ = id;
    h.cancel_ = e.cancel;
    h.report_ = [this, id](uint64_t done, uint64_t total) {
      std::optional<JobInfo> event;
      {
        std::lock_guard lk2(mu_);
        Entry& me = *jobs_.at(id);
        me.info.done = done;
        me.info.total = total;
        auto now = std::chrono::steady_clock::now();
        if (now - me.last_progress_event >= kProgressEventInterval) {
          me.last_progress_event = now;
          event = me.info;
        }
      }
      if (event && events_) events_->publish(Event{"jobs", "progress", *event});
    };
    json result;
    std::string state = "succeeded";
    std::optional<std::string> err;
    std::optional<int> code;
    if (e.cancel->load()) {  // cancelled between assignment and pick-up: never started
      state = "cancelled";
      err = "cancelled";
      code = static_cast<int>(ErrorCode::storage_failed);
    } else {
      lk.unlock();
      try {
        result = fn(h);
        if (h.cancelled()) state = "cancelled";
        else if (h.again_) state = "";  // polls again later
      } catch (const Error& ex) {
        state = h.cancelled() ? "cancelled" : "failed";
        err = ex.what();
        code = static_cast<int>(ex.code());
      } catch (const std::exception& ex) {
        state = "failed";
        err = ex.what();
        code = static_cast<int>(ErrorCode::internal);
      }
      if (state.empty()) {
        lk.lock();
        e.spec.fn = std::move(fn);
        sleeping_.emplace(std::chrono::steady_clock::now() + *h.again_, id);
        --running_;
        std::vector<Notice> notices;
        assign_locked(notices);  // the freed worker may take a queued job meanwhile
        lk.unlock();
        announce(std::move(notices));
        lk.lock();
        continue;
      }
      fn = nullptr;  // release what the operation captured before announcing its end
      lk.lock();
    }
    std::vector<Notice> notices;
    --running_;
    if (!e.spec.exclusive_key.empty()) busy_keys_.erase(e.spec.exclusive_key);
    finish_locked(e, state, std::move(result), err, code, notices);
    assign_locked(notices);
    lk.unlock();
    persist();  // durable before the waiting caller is answered
    announce(std::move(notices));
    lk.lock();
  }
}

void Jobs::finish_locked(Entry& e, const std::string& state, json result, std::optional<std::string> error,
                         std::optional<int> code, std::vector<Notice>& out) {
  e.info.state = state;
  e.info.result = std::move(result);
  e.info.error = std::move(error);
  e.info.error_code = code;
  e.info.finished_unix = now_unix();
  out.push_back({e.info, "finished", std::move(e.spec.on_done)});
  e.spec.on_done = nullptr;
  e.spec.on_cancel = nullptr;
  done_cv_.notify_all();
  prune_locked();
}

// Drops finished jobs older than history_seconds, then the oldest beyond history_limit.
void Jobs::prune_locked() {
  const int64_t cutoff = now_unix() - options_.history_seconds;
  size_t finished = 0;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const JobInfo& i = it->second->info;
    if (i.active()) {
      ++it;
    } else if (i.finished_unix.value_or(0) < cutoff) {
      it = jobs_.erase(it);
    } else {
      ++finished;
      ++it;
    }
  }
  for (auto it = jobs_.begin(); it != jobs_.end() && finished > options_.history_limit;) {
    if (it->second->info.active()) {
      ++it;
    } else {
      it = jobs_.erase(it);
      --finished;
    }
  }
}

void Jobs::announce(std::vector<Notice> notices) {
  for (auto& n : notices) {
    if (n.on_done) n.on_done(n.info);
    if (events_) events_->publish(Event{"jobs", n.kind, n.info});
  }
}

void Jobs::persist() {
  std::lock_guard plk(persist_mu_);
  std::vector<JobInfo> all;
  {
    std::lock_guard lk(mu_);
    if (!observer_) return;
    for (auto& [id, e] : jobs_) all.push_back(e->info);
  }
  observer_(all);
}

void Jobs::set_observer(std::function<void(const std::vector<JobInfo>&)> observer) {
  std::lock_guard plk(persist_mu_);
  std::lock_guard lk(mu_);
  observer_ = std::move(observer);
}

void Jobs::restore(std::vector<JobInfo> earlier) {
  {
    std::lock_guard lk(mu_);
    for (auto& i : earlier) {
      if (i.id == 0 || jobs_.count(i.id)) continue;
      if (i.active()) {
        i.error = "interrupted: the daemon stopped while this job was " + i.state;
        i.state = "interrupted";
        i.error_code = static_cast<int>(ErrorCode::storage_failed);
        if (!i.finished_unix) i.finished_unix = now_unix();
      }
      next_id_ = std::max(next_id_, i.id + 1);
      auto e = std::make_unique<Entry>();
      e->info = std::move(i);
      jobs_[e->info.id] = std::move(e);
    }
    prune_locked();
  }
  persist();
}

std::vector<JobInfo> Jobs::list() const {
  std::lock_guard lk(mu_);
  const_cast<Jobs*>(this)->prune_locked();
  std::vector<JobInfo> out;
  for (auto& [id, e] : jobs_) out.push_back(e->info);
  return out;
}

std::optional<JobInfo> Jobs::get(uint64_t id) const {
  std::lock_guard lk(mu_);
  const_cast<Jobs*>(this)->prune_locked();
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->info;
}

JobInfo Jobs::wait(uint64_t id) const {
  std::unique_lock lk(mu_);
  for (;;) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) throw Error(ErrorCode::not_found, "no job with id " + std::to_string(id));
    if (!it->second->info.active()) return it->second->info;
    done_cv_.wait(lk);
  }
}

bool Jobs::cancel(uint64_t id) {
  std::function<void()> hook;
  std::vector<Notice> notices;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) throw Error(ErrorCode::not_found, "no job with id " + std::to_string(id));
    Entry& e = *it->second;
    if (!e.info.active()) return false;
    e.cancel->store(true);
    if (e.info.state == "queued") {
      queue_.erase(std::find(queue_.begin(), queue_.end(), id));
      finish_locked(e, "cancelled", nullptr, "cancelled before it started",
                    static_cast<int>(ErrorCode::storage_failed), notices);
    } else {
      hook = e.spec.on_cancel;
      for (auto sit = sleeping_.begin(); sit != sleeping_.end(); ++sit)
        if (sit->second == id) {  // a polling job between polls: its next poll ends it now
          sleeping_.erase(sit);
          sleeping_.emplace(std::chrono::steady_clock::time_point{}, id);
          work_cv_.notify_all();
          break;
        }
    }
  }
  if (hook) hook();
  persist();  // durable before anyone hears of it
  announce(std::move(notices));
  return true;
}

void Jobs::cancel_all() {
  std::vector<uint64_t> ids;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : jobs_)
      if (e->info.active()) ids.push_back(id);
  }
  for (uint64_t id : ids) {
    try {
      cancel(id);
    } catch (const Error&) {  // pruned meanwhile: nothing to cancel
    }
  }
}

bool Jobs::running(const std::string& kind, const std::string& target) const {
  std::lock_guard lk(mu_);
  for (auto& [id, e] : jobs_)
    if (e->info.active() && e->info.kind == kind && e->info.target == target) return true;
  return false;
}

Jobs::Stats Jobs::stats() const {
  std::lock_guard lk(mu_);
  Stats s;
  s.workers = threads_.size();
  for (auto& [id, e] : jobs_) {
    if (e->info.state == "queued") ++s.queued;
    else if (e->info.state == "running") ++s.running;
    else ++s.finished;
  }
  return s;
}

}  // namespace mos::engine
