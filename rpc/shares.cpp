#include "rpc/shares.hpp"

#include "base/error.hpp"

namespace mos::rpc {

std::optional<std::string> ConnectionShares::refusal(const Caller& caller, size_t open_connections) const {
  const Limits& l = limits_;
  if (open_connections >= l.max_connections)
    return "mos_volmgrd serves at most " + std::to_string(l.max_connections) + " connections (--max-connections); try again later";
  if (!caller.admin && open_connections + l.reserved_admin_connections >= l.max_connections)
    return "mos_volmgrd: the last " + std::to_string(l.reserved_admin_connections) + " of " +
           std::to_string(l.max_connections) +
           " connections are reserved for root and --admin-group members (--reserved-admin-connections); try again later";
  auto it = per_uid_.find(caller.uid);
  if (caller.uid != 0 && it != per_uid_.end() && it->second >= l.max_connections_per_uid)
    return "mos_volmgrd: uid " + std::to_string(caller.uid) + " holds " + std::to_string(it->second) +
           " connections, the most one user may (--max-connections-per-uid); close one first";
  return std::nullopt;
}

void ConnectionShares::closed(uid_t uid) {
  auto it = per_uid_.find(uid);
  if (it != per_uid_.end() && --it->second == 0) per_uid_.erase(it);
}

void check_subscription_share(uid_t uid, unsigned held, unsigned limit) {
  if (uid == 0 || held < limit) return;
  throw Error(ErrorCode::storage_failed, "busy: uid " + std::to_string(uid) + " holds " + std::to_string(held) +
                                             " subscribed connections, the most one user may "
                                             "(--max-subscriptions-per-uid); unsubscribe or close one first");
}

}  // namespace mos::rpc
