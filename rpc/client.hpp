// Minimal JSON-RPC client over the daemon's Unix socket (used by the CLI and tests).
#pragma once
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

namespace mos::rpc {

class Client {
 public:
  // Throws mos::Error naming the socket when the daemon is unreachable.
  explicit Client(const std::string& socket_path);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a request and returns "result"; an RPC error is thrown as mos::Error with its code.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object());
  // Raw exchange: one line out, one line back.
  std::string exchange(const std::string& line);
  // The next notification (e.g. storage.event params included) the daemon sent, waiting for one;
  // notifications that arrived while call() waited for its answer come first.
  nlohmann::json next_notification();

 private:
  std::string read_line();
  std::deque<nlohmann::json> notifications_;  // bounded by what arrives during one call()
  int fd_ = -1;
  std::string path_;
  std::string buf_;
  uint64_t next_id_ = 1;
};

// Socket path from an explicit option, else $MOS_VOLMGR_SOCKET, else the default.
std::string default_socket_path(const std::string& explicit_path = {});

}  // namespace mos::rpc
