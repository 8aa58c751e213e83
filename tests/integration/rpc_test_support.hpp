// Helpers of the daemon transport tests: raw sockets, a daemon (or a server with a test
// registry) in a sandboxed child with its pid for RSS/CPU readings, and "served within" probes.
#pragma once
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>

#include "rpc/client.hpp"
#include "rpc/daemon.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

// ASan keeps freed memory in quarantine (up to 256 MiB) besides its shadow memory, so the
// daemon's RSS says nothing about our bounds in the sanitizer build (MOS_UNDER_SANITIZER): RSS
// bounds are checked in the plain build only; everything else is checked in both.
#ifdef MOS_UNDER_SANITIZER
inline constexpr bool kRssBoundsHold = false;
#else
inline constexpr bool kRssBoundsHold = true;
#endif

namespace mos::test {

inline int connect_raw(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// One line from fd (without '\n'); "" (or the part read) after timeout_ms of silence, or EOF.
// timeout_ms is how long nothing may arrive: a long line that keeps coming is read whole however
// slowly the daemon writes it (a sanitizer build under load writes a 10 kB event in pieces).
inline std::string recv_line(int fd, int timeout_ms = 5000) {
  std::string got;
  char ch;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    if (recv(fd, &ch, 1, 0) != 1) break;
    if (ch == '\n') return got;
    got += ch;
    until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return got;
}

// Milliseconds until a fresh client's rpc.discover is answered (99999 when it is not).
inline int served_ms(const std::string& socket) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    rpc::Client c(socket);
    if (!c.call("rpc.discover").contains("methods")) return 99999;
  } catch (const std::exception&) {
    return 99999;
  }
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count());
}

class Daemon {
 public:
  using Serve = std::function<void(const std::string& socket)>;
  // The real daemon (full registry) with o's options, in private run and state directories
  // unless o names its own; nofile > 0 lowers its RLIMIT_NOFILE; log (a file path) receives its
  // log and audit lines.
  explicit Daemon(rpc::DaemonOptions o = {}, int nofile = 0, std::string log = {}) {
    const rpc::DaemonOptions host;
    if (o.run_dir == host.run_dir && o.state_dir == host.state_dir) use_private_dirs(o, dir_.path());
    start([o, nofile, log](const std::string& sock) mutable {
      if (nofile > 0) {
        rlimit r{static_cast<rlim_t>(nofile), static_cast<rlim_t>(nofile)};
        setrlimit(RLIMIT_NOFILE, &r);
      }
      if (!log.empty()) {
        o.log = std::fopen(log.c_str(), "w");
        setvbuf(o.log, nullptr, _IONBF, 0);
      }
      o.socket_path = sock;
      o.allow_devices = "/dev/loop*";
      rpc::run_daemon(o);
    }, o.socket_path);
  }
  // Any server body (e.g. rpc::Server with a test registry) listening on the given socket path.
  explicit Daemon(Serve serve, const std::string& socket = {}) { start(std::move(serve), socket); }

  const std::string& socket() const { return socket_; }
  int pid() const { return child_->pid(); }
  int stop(int sig) { return child_->stop(sig); }
  bool alive() const { return kill(pid(), 0) == 0 && proc_state() != 'Z'; }
  long rss_kib() const {
    std::ifstream f("/proc/" + std::to_string(pid()) + "/status");
    std::string key;
    long v = -1;
    while (f >> key)
      if (key == "VmRSS:") f >> v;
    return v;
  }
  double cpu_seconds() const {
    std::ifstream f("/proc/" + std::to_string(pid()) + "/stat");
    std::string all((std::istreambuf_iterator<char>(f)), {});
    std::istringstream rest(all.substr(all.rfind(')') + 2));
    std::string field;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoul(field);
      if (i == 15) stime = std::stoul(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

 private:
  char proc_state() const {
    std::ifstream f("/proc/" + std::to_string(pid()) + "/stat");
    std::string all((std::istreambuf_iterator<char>(f)), {});
    auto p = all.rfind(')');
    return p == std::string::npos || p + 2 >= all.size() ? 'Z' : all[p + 2];
  }
  void start(Serve serve, const std::string& socket) {
    socket_ = socket.empty() || socket == rpc::DaemonOptions{}.socket_path ? dir_ / "d.sock" : socket;
    std::string sock = socket_;
    child_ = std::make_unique<SandboxedChild>([serve, sock] {
      serve(sock);
      return 0;
    });
    for (int i = 0; i < 500; ++i) {
      int fd = connect_raw(socket_);
      if (fd >= 0) {
        close(fd);
        return;
      }
      usleep(10000);
    }
    ADD_FAILURE() << "daemon did not listen on " << socket_;
  }

  TempDir dir_;
  std::string socket_;
  std::unique_ptr<SandboxedChild> child_;
};

}  // namespace mos::test
