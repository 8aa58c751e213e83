// The daemon's resource bounds: every buffer, queue and count a client can grow has one here.
// Each is a mos_volmgrd option and is reported by rpc.discover as "x-limits".
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>

namespace mos::rpc {

struct Limits {
  unsigned max_json_depth = 64;                // deeper request: -32600, checked while parsing
  size_t max_batch = 128;                      // calls per batch; longer batch: -32600, none run
  size_t max_response_bytes = 8 << 20;         // one answer (a whole batch included); past it: one error
  size_t max_line_bytes = 1 << 20;             // one request line; longer: error, connection closed
  size_t max_connection_output = 4 << 20;      // unread answers/events per connection before we stop
                                               // reading it (backpressure) or drop its subscription
  size_t max_total_output = 64 << 20;          // unread answers/events of all connections together;
                                               // past it no connection is read and subscribers are dropped
  unsigned max_connections = 256;              // more: the newcomer gets an error line and is closed
  unsigned reserved_admin_connections = 8;     // of max_connections, the last ones only uid 0 and
                                               // --admin-group members get (a user filling the rest
                                               // does not lock admins out)
  unsigned max_connections_per_uid = 32;       // one uid's connections (uid 0 exempt); more: refused
  unsigned max_subscriptions_per_uid = 8;      // one uid's connections holding an event subscription
                                               // (uid 0 exempt); more: storage.subscribe fails -32000
  unsigned idle_timeout_seconds = 300;         // a connection with nothing in flight and no
                                               // subscription is closed after this long (0 = never);
                                               // subscribed ones stay, counted by the cap above
  unsigned shutdown_timeout_seconds = 10;      // after SIGTERM, request workers still running after
                                               // this long (stuck in the kernel) are abandoned: named
                                               // in the log, and the daemon exits without them

  nlohmann::json to_json() const {
    return {{"max_json_depth", max_json_depth},
            {"max_batch", max_batch},
            {"max_response_bytes", max_response_bytes},
            {"max_line_bytes", max_line_bytes},
            {"max_connection_output", max_connection_output},
            {"max_total_output", max_total_output},
            {"max_connections", max_connections},
            {"reserved_admin_connections", reserved_admin_connections},
            {"max_connections_per_uid", max_connections_per_uid},
            {"max_subscriptions_per_uid", max_subscriptions_per_uid},
            {"idle_timeout_seconds", idle_timeout_seconds},
            {"shutdown_timeout_seconds", shutdown_timeout_seconds}};
  }
};

}  // namespace mos::rpc
