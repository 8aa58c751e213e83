// The JSON-RPC server: newline-delimited JSON over a Unix stream socket. One epoll loop owns all
// connections (no thread per client); requests run on a small worker pool, and deferred methods
// answer later from any thread without holding a worker. Per connection, requests are answered
// in order. Every buffer and count is bounded by rpc/limits.hpp; events from ctx.events are
// delivered to subscribed connections as "storage.event" notifications.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "rpc/limits.hpp"
#include "rpc/registry.hpp"

namespace mos::rpc {

struct ServerOptions {
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  Limits limits = {};
  unsigned workers = 8;
  unsigned socket_mode = 0660;
  std::string socket_group;     // group owner of the socket; "" = the daemon's
  std::string admin_group;      // members may call mutating methods; "" = uid 0 only
  bool handle_signals = false;  // SIGTERM/SIGINT via signalfd (caller blocks them first)
  std::FILE* audit = nullptr;   // one line per mutating call when set
  std::FILE* log = nullptr;     // shutdown notices (workers abandoned) when set
};

class Server {
 public:
  Server(ServerOptions opts, const Registry& registry, engine::Context& ctx);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (or takes the systemd-activated socket); throws mos::Error when it cannot. run() calls
  // it when the caller did not.
  void listen();
  // Serves until stop() or a signal.
  void run();
  // Thread-safe; makes run() return after closing every connection and removing the socket.
  void stop();
  // True once the socket is bound and listening.
  bool ready() const { return ready_.load(); }
  // After run(): the calls whose workers were still running when limits.shutdown_timeout_seconds
  // passed ("storage.x (uid 1000, 12 s)"); empty when every worker ended. Those threads are left
  // running (the server's state is kept for them): the process should exit now.
  const std::vector<std::string>& abandoned() const;

 private:
  struct Impl;
  Impl* impl_;
  std::atomic<bool> ready_{false};
};

}  // namespace mos::rpc
