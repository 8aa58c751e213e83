// The bounded end of the request workers: a worker blocked in the kernel cannot be interrupted
// or joined, so after the bound it is named and left behind instead of hanging the shutdown.
#include <chrono>
#include <cstdio>

#include "rpc/worker_pool.hpp"

namespace mos::rpc {

std::vector<std::string> WorkerPool::stop_within(unsigned seconds) {
  bool all_ended;
  {
    std::unique_lock lk(mu_);
    stopping_ = true;
    cv_.notify_all();
    auto ended = [&] { return workers_ended_ == workers_.size(); };
    if (seconds == 0) worker_ended_.wait(lk, ended);
    else worker_ended_.wait_for(lk, std::chrono::seconds(seconds), ended);
    all_ended = ended();
  }
  std::vector<std::string> abandoned;
  if (!all_ended) abandoned = running_calls();
  for (auto& t : workers_) {
    if (!t.joinable()) continue;
    if (abandoned.empty()) t.join();
    else t.detach();
  }
  workers_.clear();
  return abandoned;
}

void log_abandoned(std::FILE* log, const std::vector<std::string>& abandoned, unsigned seconds) {
  if (abandoned.empty()) return;
  std::string names;
  for (const auto& a : abandoned) names += (names.empty() ? "" : ", ") + a;
  std::fprintf(log, "mos_volmgrd: shutdown: %zu call(s) still running after --shutdown-timeout %u s, abandoned: %s\n",
               abandoned.size(), seconds, names.c_str());
}

}  // namespace mos::rpc
