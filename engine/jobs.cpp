#include "engine/jobs.hpp"

#include <ctime>

#include "ioctl/error.hpp"

namespace mos::engine {

void to_json(json& j, const JobInfo& i) {
  j = json{{"id", i.id},       {"kind", i.kind},   {"target", i.target},
           {"state", i.state}, {"done", i.done},   {"total", i.total},
           {"error", i.error}, {"error_code", i.error_code}, {"result", i.result},
           {"started_unix", i.started_unix}, {"finished_unix", i.finished_unix}};
  j["percent"] = i.total ? (100.0 * static_cast<double>(i.done) / static_cast<double>(i.total)) : 0.0;
}

void JobHandle::progress(uint64_t done, uint64_t total) {
  if (report_) report_(done, total);
}

void JobHandle::check_cancelled() const {
  if (cancelled()) throw Error(ErrorCode::storage_failed, "cancelled");
}

uint64_t Jobs::start(const std::string& kind, const std::string& target, Fn fn,
                     std::function<void()> on_cancel) {
  std::lock_guard lk(mu_);
  uint64_t id = next_id_++;
  auto e = std::make_unique<Entry>();
  e->info.id = id;
  e->info.kind = kind;
  e->info.target = target;
  e->info.state = "running";
  e->info.started_unix = static_cast<int64_t>(std::time(nullptr));
  e->cancel = std::make_shared<std::atomic<bool>>(false);
  e->on_cancel = std::move(on_cancel);
  Entry* raw = e.get();
  jobs_[id] = std::move(e);
  raw->thread = std::thread([this, raw, fn = std::move(fn)] {
    JobHandle h;
    h.cancel_ = raw->cancel;
    h.report_ = [this, raw](uint64_t done, uint64_t total) {
      std::lock_guard lk2(mu_);
      raw->info.done = done;
      raw->info.total = total;
    };
    json result;
    std::string state = "succeeded";
    std::optional<std::string> err;
    std::optional<int> code;
    try {
      result = fn(h);
      if (raw->cancel->load()) state = "cancelled";
    } catch (const Error& e) {
      state = raw->cancel->load() ? "cancelled" : "failed";
      err = e.what();
      code = static_cast<int>(e.code());
    } catch (const std::exception& e) {
      state = "failed";
      err = e.what();
      code = static_cast<int>(ErrorCode::internal);
    }
    std::lock_guard lk2(mu_);
    raw->info.state = state;
    raw->info.result = std::move(result);
    raw->info.error = err;
    raw->info.error_code = code;
    raw->info.finished_unix = static_cast<int64_t>(std::time(nullptr));
    cv_.notify_all();
  });
  return id;
}

std::vector<JobInfo> Jobs::list() const {
  std::lock_guard lk(mu_);
  std::vector<JobInfo> out;
  for (auto& [id, e] : jobs_) out.push_back(e->info);
  return out;
}

std::optional<JobInfo> Jobs::get(uint64_t id) const {
  std::lock_guard lk(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->info;
}

JobInfo Jobs::wait(uint64_t id) const {
  std::unique_lock lk(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) throw Error(ErrorCode::not_found, "no job with id " + std::to_string(id));
  cv_.wait(lk, [&] { return it->second->info.state != "running"; });
  return it->second->info;
}

bool Jobs::cancel(uint64_t id) {
  std::function<void()> hook;
  {
    std::lock_guard lk(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) throw Error(ErrorCode::not_found, "no job with id " + std::to_string(id));
    if (it->second->info.state != "running") return false;
    it->second->cancel->store(true);
    hook = it->second->on_cancel;
  }
  if (hook) hook();
  return true;
}

void Jobs::cancel_all() {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : jobs_) {
      if (e->info.state != "running") continue;
      e->cancel->store(true);
      if (e->on_cancel) hooks.push_back(e->on_cancel);
    }
  }
  for (auto& h : hooks) h();
}

bool Jobs::running(const std::string& kind, const std::string& target) const {
  std::lock_guard lk(mu_);
  for (auto& [id, e] : jobs_)
    if (e->info.state == "running" && e->info.kind == kind && e->info.target == target) return true;
  return false;
}

Jobs::~Jobs() {
  std::vector<Entry*> all;
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, e] : jobs_) {
      e->cancel->store(true);
      all.push_back(e.get());
      if (e->on_cancel && e->info.state == "running") hooks.push_back(e->on_cancel);
    }
  }
  for (auto& h : hooks) h();
  for (auto* e : all)
    if (e->thread.joinable()) e->thread.join();
}

}  // namespace mos::engine
