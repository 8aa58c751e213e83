// The server's state shared across threads: answers from workers and deferred repliers, and
// event notifications for subscribed connections, queued for the event loop (rpc/server.cpp).
#pragma once
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/inventory/events.hpp"
#include "rpc/call.hpp"

namespace mos::rpc {

struct WorkerAnswer {
  uint64_t conn;
  std::optional<std::string> response;
};

// State shared with worker threads, deferred repliers and event publishers; it outlives the
// server when a late reply or event still holds it (then everything is dropped).
struct ServerShared {
  std::mutex mu;
  int wake_fd = -1;
  bool closed = false;
  std::deque<WorkerAnswer> done;
  // Events: topics per connection, notifications queued for the loop, connections to tell that
  // their subscription was dropped.
  std::set<uint64_t> live;
  std::map<uint64_t, std::set<std::string>> subs;
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::string>>> events;
  std::map<uint64_t, size_t> queued_bytes;
  std::set<uint64_t> dropped;
  size_t event_budget = 0;
  std::map<uint64_t, uid_t> owner;  // each live connection's peer uid
  unsigned max_subscriptions_per_uid = 0;

  void wake() {
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof one);
  }
  void answer(uint64_t conn, std::optional<std::string> r) {
    std::lock_guard lk(mu);
    if (closed) return;
    done.push_back(WorkerAnswer{conn, std::move(r)});
    wake();
  }
  // Queues e for every connection subscribed to its topic (dropping, and marking, one whose
  // queued events passed event_budget) and wakes the loop.
  void publish(const engine::Event& e);
};

// The calling connection's subscriptions, valid while its request is handled.
class ConnSubscriptions : public Subscriptions {
 public:
  ConnSubscriptions(ServerShared& s, uint64_t conn) : s_(s), conn_(conn) {}
  std::vector<std::string> change(const std::vector<std::string>& topics, bool subscribe) override;

 private:
  void check_share_locked() const;

  ServerShared& s_;
  uint64_t conn_;
};

}  // namespace mos::rpc
