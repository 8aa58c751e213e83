// The engine's change feed: whoever notices a change (the device/mount monitor, the job
// scheduler, the md engine) publishes it here; the daemon fans it out to subscribed clients.
// Subscribers are called on the publisher's thread and must not block (queue and return).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/json.hpp"

namespace mos::engine {

struct Event {
  std::string topic;  // "devices" | "mounts" | "jobs" | "raid" | "health"
  std::string kind;   // e.g. "add", "remove", "change", "mounted", "progress", "finished"
  json data;          // topic-specific payload
};

class EventBus {
 public:
  using Subscriber = std::function<void(const Event&)>;
  // Returns a token for unsubscribe().
  uint64_t subscribe(Subscriber s);
  void unsubscribe(uint64_t token);
  // Calls every subscriber (outside the bus lock, so a subscriber may unsubscribe itself).
  void publish(const Event& e) const;

 private:
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<Subscriber>> subscribers_;
  uint64_t next_ = 1;
};

}  // namespace mos::engine
