#include "rpc/server_shared.hpp"

#include "engine/json.hpp"
#include "rpc/shares.hpp"

namespace mos::rpc {

void ServerShared::publish(const engine::Event& e) {
  std::shared_ptr<const std::string> line;
  try {
    engine::json n = {{"jsonrpc", "2.0"},
                      {"method", "storage.event"},
                      {"params", {{"topic", e.topic}, {"kind", e.kind}, {"data", e.data}}}};
    line = std::make_shared<const std::string>(engine::json_text(n) + "\n");
  } catch (const std::exception&) {
    return;  // an event we cannot serialize is not delivered
  }
  std::lock_guard lk(mu);
  if (closed) return;
  bool any = false;
  for (auto it = subs.begin(); it != subs.end();) {
    uint64_t conn = it->first;
    if (!it->second.count(e.topic)) {
      ++it;
      continue;
    }
    size_t& q = queued_bytes[conn];
    if (q + line->size() > event_budget) {  // the loop has not even taken its events: drop it
      dropped.insert(conn);
      it = subs.erase(it);
      any = true;
      continue;
    }
    q += line->size();
    events.emplace_back(conn, line);
    any = true;
    ++it;
  }
  if (any) wake();
}

std::vector<std::string> ConnSubscriptions::change(const std::vector<std::string>& topics, bool subscribe) {
  std::lock_guard lk(s_.mu);
  if (!s_.live.count(conn_)) return {};
  if (subscribe) {
    if (!topics.empty() && !s_.subs.count(conn_)) check_share_locked();
    s_.subs[conn_].insert(topics.begin(), topics.end());
  } else if (auto it = s_.subs.find(conn_); it != s_.subs.end()) {
    if (topics.empty()) it->second.clear();
    for (const auto& t : topics) it->second.erase(t);
  }
  auto it = s_.subs.find(conn_);
  if (it == s_.subs.end()) return {};
  if (it->second.empty()) {
    s_.subs.erase(it);
    return {};
  }
  return {it->second.begin(), it->second.end()};
}

void ConnSubscriptions::check_share_locked() const {
  uid_t uid = s_.owner.count(conn_) ? s_.owner.at(conn_) : 0;
  unsigned held = 0;
  for (const auto& [id, topics] : s_.subs) held += s_.owner.count(id) && s_.owner.at(id) == uid;
  check_subscription_share(uid, held, s_.max_subscriptions_per_uid);
}

}  // namespace mos::rpc
