#include "rpc/worker_pool.hpp"

#include "base/safe_text.hpp"

namespace mos::rpc {
namespace {

// What a task runs, for the shutdown log: the method (a client's bytes: escaped), "a batch", or
// the size of a request not parsed yet (long lines are parsed by the worker).
std::string task_label(const Task& t) {
  if (t.req.is_object() && t.req.contains("method") && t.req["method"].is_string())
    return printable_text(t.req["method"].get<std::string>());
  if (t.req.is_array()) return "a batch of " + std::to_string(t.req.size()) + " calls";
  return "a request of " + std::to_string(t.line.size()) + " bytes";
}

}  // namespace

void WorkerPool::start(unsigned count, Run run) {
  run_ = std::move(run);
  for (unsigned i = 0; i < count; ++i) workers_.emplace_back([this, i] { loop(i); });
}

void WorkerPool::push(Task t) {
  {
    std::lock_guard lk(mu_);
    tasks_.push_back(std::move(t));
  }
  cv_.notify_one();
}

void WorkerPool::loop(unsigned index) {
  struct Ended {
    WorkerPool& p;
    ~Ended() {
      std::lock_guard lk(p.mu_);
      ++p.workers_ended_;
      p.worker_ended_.notify_all();
    }
  } ended{*this};
  for (;;) {
    Task t;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !tasks_.empty(); });
      if (stopping_) return;
      t = std::move(tasks_.front());
      tasks_.pop_front();
    }
    {
      std::lock_guard lk(running_mu_);
      running_[index] = Running{task_label(t), t.caller.uid, std::chrono::steady_clock::now()};
    }
    run_(t);
    std::lock_guard lk(running_mu_);
    running_.erase(index);
  }
}

std::vector<std::string> WorkerPool::running_calls() {
  std::vector<std::string> calls;
  std::lock_guard lk(running_mu_);
  auto now = std::chrono::steady_clock::now();
  for (const auto& [index, r] : running_)
    calls.push_back(r.label + " (uid " + std::to_string(r.uid) + ", running " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - r.since).count()) + " s)");
  if (calls.empty()) calls.push_back("a worker between calls");
  return calls;
}

}  // namespace mos::rpc
