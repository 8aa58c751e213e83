// The JSON-RPC server: newline-delimited JSON over a Unix stream socket. One epoll loop owns all
// connections (no thread per client); requests run on a small worker pool so a long operation
// or a stalled client never blocks the others. Per connection, requests are answered in order.
#pragma once
#include <atomic>
#include <cstddef>
#include <string>

#include "rpc/registry.hpp"

namespace mos::rpc {

struct ServerOptions {
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  size_t max_line_bytes = 1 << 20;       // longer request line: error reply, connection closed
  size_t max_pending_output = 64 << 20;  // a client that stops reading is dropped past this
  unsigned workers = 8;
  unsigned socket_mode = 0660;
  bool handle_signals = false;  // SIGTERM/SIGINT via signalfd (caller blocks them first)
};

class Server {
 public:
  Server(ServerOptions opts, const Registry& registry, engine::Context& ctx);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds (replacing a stale socket, refusing a live one), then serves until stop() or a signal.
  void run();
  // Thread-safe; makes run() return after closing every connection and removing the socket.
  void stop();
  // True once the socket is bound and listening.
  bool ready() const { return ready_.load(); }

 private:
  struct Impl;
  Impl* impl_;
  std::atomic<bool> ready_{false};
};

}  // namespace mos::rpc
