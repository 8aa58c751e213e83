#include "rpc/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/error.hpp"

namespace mos::rpc {

std::string default_socket_path(const std::string& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (const char* env = std::getenv("MOS_VOLMGR_SOCKET"); env && *env) return env;
  return "/run/mos_volmgrd/mos_volmgrd.sock";
}

Client::Client(const std::string& socket_path) : path_(socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    throw Error(ErrorCode::validation, "socket path too long: " + socket_path, socket_path);
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_sys("socket", socket_path, errno);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw Error(ErrorCode::storage_failed,
                "cannot reach mos_volmgrd at " + socket_path + ": " + std::strerror(err) +
                    " (is the daemon running? use --socket or MOS_VOLMGR_SOCKET)",
                socket_path, err);
  }
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

std::string Client::exchange(const std::string& line) {
  std::string out = line + "\n";
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("send", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  return read_line();
}

std::string Client::read_line() {
  for (;;) {
    auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string resp = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return resp;
    }
    char tmp[65536];
    ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("recv", path_, errno);
    }
    if (n == 0) throw Error(ErrorCode::storage_failed, "mos_volmgrd closed the connection", path_);
    buf_.append(tmp, static_cast<size_t>(n));
  }
}

nlohmann::json Client::call(const std::string& method, const nlohmann::json& params) {
  nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", next_id_++}, {"method", method}, {"params", params}};
  auto resp = nlohmann::json::parse(exchange(req.dump()));
  // Event notifications of a subscribed connection may come before the answer: keep them.
  while (resp.is_object() && resp.contains("method") && !resp.contains("id")) {
    if (notifications_.size() < 4096) notifications_.push_back(std::move(resp));
    resp = nlohmann::json::parse(read_line());
  }
  if (resp.contains("error")) {
    const auto& e = resp["error"];
    std::string path;
    if (e.contains("data") && e["data"].is_object() && e["data"].contains("path")) path = e["data"]["path"];
    throw Error(static_cast<ErrorCode>(e.value("code", -32603)), e.value("message", "unknown error"), path);
  }
  return resp["result"];
}

}  // namespace mos::rpc

namespace mos::rpc {

nlohmann::json Client::next_notification() {
  for (;;) {
    if (!notifications_.empty()) {
      auto n = std::move(notifications_.front());
      notifications_.pop_front();
      return n;
    }
    auto msg = nlohmann::json::parse(read_line());
    if (msg.is_object() && msg.contains("method") && !msg.contains("id")) return msg;
  }
}

}  // namespace mos::rpc
