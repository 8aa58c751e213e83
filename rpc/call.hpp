// Who is calling and on which connection: set by the server for the duration of one handler
// call (deferred methods: while `deferred` itself runs), read by handlers on the same thread.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "rpc/limits.hpp"

namespace mos::engine {
struct InventorySnapshot;
}

namespace mos::rpc {

// The peer of a connection (SO_PEERCRED at accept). In-process callers (tests, tools, the
// fuzzer) are the daemon itself: uid 0, admin.
struct Caller {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool admin = true;   // uid 0 or a member of --admin-group: may call admin-only methods (Method::admin_only)
  bool remote = false; // true when the credentials come from a socket peer
};

// Event subscriptions of the calling connection (implemented by the server).
class Subscriptions {
 public:
  virtual ~Subscriptions() = default;
  // Adds (subscribe) or removes (!subscribe; empty = all) topics; returns the topics now held.
  virtual std::vector<std::string> change(const std::vector<std::string>& topics, bool subscribe) = 0;
};

struct CallEnv {
  Caller caller;
  Subscriptions* subscriptions = nullptr;  // null: not on a daemon connection
  const Limits* limits = nullptr;          // null: not served by a daemon
  // The inventory model as the server found it fresh (no announced change pending) after
  // receiving this call; model methods answer from it instead of settling the model (which may
  // probe). Null: settle first.
  std::shared_ptr<const engine::InventorySnapshot> model = nullptr;
};

// The call being handled on this thread; a default CallEnv (trusted, no connection) otherwise.
const CallEnv& current_call();

// Makes env the current call of this thread until destruction.
class CallScope {
 public:
  explicit CallScope(const CallEnv& env);
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  const CallEnv* previous_;
};

}  // namespace mos::rpc
