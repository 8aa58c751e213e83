// The server's request workers: a fixed pool of threads taking tasks from one queue, each
// remembering the call it runs, so a shutdown can name the ones it had to abandon
// (rpc/bounded_shutdown.cpp).
#pragma once
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/json.hpp"
#include "rpc/call.hpp"

namespace mos::rpc {

struct Task {
  uint64_t conn;
  Caller caller;
  std::string line;  // the request, or empty when the I/O thread parsed it already into req
  engine::json req;
};

class WorkerPool {
 public:
  using Run = std::function<void(Task&)>;
  WorkerPool() = default;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void start(unsigned count, Run run);
  void push(Task t);
  // Tells every worker to end after its current call, and waits for them at most `seconds`
  // (0: for ever). Returns the calls still running then ("storage.x (uid 1000, running 12 s)"),
  // whose threads are detached: the pool must outlive them (the process should exit). Empty when
  // every worker ended and was joined.
  std::vector<std::string> stop_within(unsigned seconds);

 private:
  struct Running {
    std::string label;
    uid_t uid;
    std::chrono::steady_clock::time_point since;
  };
  void loop(unsigned index);
  std::vector<std::string> running_calls();

  Run run_;
  std::mutex mu_;  // the queue, stopping_ and workers that ended
  std::condition_variable cv_, worker_ended_;
  std::deque<Task> tasks_;
  size_t workers_ended_ = 0;
  bool stopping_ = false;
  std::mutex running_mu_;
  std::map<unsigned, Running> running_;  // the call each busy worker runs, by worker index
  std::vector<std::thread> workers_;
};

// One log line naming the calls stop_within abandoned; nothing when none was.
void log_abandoned(std::FILE* log, const std::vector<std::string>& abandoned, unsigned seconds);

}  // namespace mos::rpc
