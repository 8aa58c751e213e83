// Per-uid shares of what the daemon's connections hold, so that no user can lock others out:
// connections (the last slots reserved for root and admins) and event subscriptions (subscribed
// connections are never idle-closed, so they are counted instead). uid 0 has no share.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "rpc/call.hpp"
#include "rpc/limits.hpp"

namespace mos::rpc {

class ConnectionShares {
 public:
  explicit ConnectionShares(const Limits& limits) : limits_(limits) {}
  // Why a newcomer is not served (its error line), or nullopt: the table is full; only the slots
  // reserved for root and admins are left; its uid holds its share already.
  std::optional<std::string> refusal(const Caller& caller, size_t open_connections) const;
  void opened(uid_t uid) { ++per_uid_[uid]; }
  void closed(uid_t uid);

 private:
  const Limits& limits_;
  std::map<uid_t, unsigned> per_uid_;
};

// Throws -32000 naming --max-subscriptions-per-uid when uid (not 0) holds its share already.
void check_subscription_share(uid_t uid, unsigned held, unsigned limit);

}  // namespace mos::rpc
