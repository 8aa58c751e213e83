#include "engine/inventory/events.hpp"

#include <memory>
#include <vector>

namespace mos::engine {

uint64_t EventBus::subscribe(Subscriber s) {
  std::lock_guard lock(mu_);
  uint64_t token = next_++;
  subscribers_[token] = std::make_shared<Subscriber>(std::move(s));
  return token;
}

void EventBus::unsubscribe(uint64_t token) {
  std::lock_guard lock(mu_);
  subscribers_.erase(token);
}

void EventBus::publish(const Event& e) const {
  std::vector<std::shared_ptr<Subscriber>> targets;
  {
    std::lock_guard lock(mu_);
    targets.reserve(subscribers_.size());
    for (const auto& [token, s] : subscribers_) targets.push_back(s);
  }
  for (const auto& s : targets) (*s)(e);
}

}  // namespace mos::engine
