// Load generator, echo server and daemon child of the `rpc` scenario (bench only: fork and
// posix_spawn are fine in a measurement tool).
#include "bench/rpc_load.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace mos::bench {
namespace {

using clock_type = std::chrono::steady_clock;

sockaddr_un address_of(const std::string& socket) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (socket.size() >= sizeof a.sun_path) throw std::runtime_error("socket path too long: " + socket);
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  return a;
}

int connect_to(const std::string& socket, bool nonblocking) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un a = address_of(socket);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  if (nonblocking) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

struct Client {
  int fd = -1;
  std::string in;
  size_t sent = 0;
  clock_type::time_point started;
};

struct ThreadResult {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
};

// One thread drives its share of the connections through epoll, closed loop.
void drive(const std::string& socket, unsigned n, const std::string& line, clock_type::time_point until,
           bool expect_echo, ThreadResult& out) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> clients(n);
  auto send_request = [&](Client& c) {
    c.started = clock_type::now();
    c.sent = 0;
    while (c.sent < line.size()) {
      ssize_t w = ::send(c.fd, line.data() + c.sent, line.size() - c.sent, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN) continue;  // a request line is small: spin briefly
        return false;
      }
      c.sent += static_cast<size_t>(w);
    }
    return true;
  };
  for (unsigned i = 0; i < n; ++i) {
    clients[i].fd = connect_to(socket, true);
    if (clients[i].fd < 0) {
      ++out.errors;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev);
    if (!send_request(clients[i])) ++out.errors;
  }
  const std::string request_body = line.substr(0, line.size() - 1);
  epoll_event events[64];
  char buf[1 << 16];
  while (clock_type::now() < until) {
    int k = epoll_wait(ep, events, 64, 100);
    for (int e = 0; e < k; ++e) {
      Client& c = clients[events[e].data.u32];
      for (;;) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) break;
          ++out.errors;  // the server closed on us
          epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          ::close(c.fd);
          c.fd = -1;
          break;
        }
        c.in.append(buf, static_cast<size_t>(r));
        size_t nl = c.in.find('\n');
        if (nl == std::string::npos) continue;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - c.started).count();
        out.latencies_us.push_back(static_cast<uint32_t>(std::min<long long>(us, UINT32_MAX)));
        std::string_view answer(c.in.data(), nl);
        bool bad = expect_echo ? answer != request_body
                               : answer.find("\"result\":") == std::string_view::npos ||
                                     answer.find("\"error\":{") != std::string_view::npos;
        if (bad) ++out.errors;
        c.in.erase(0, nl + 1);
        if (clock_type::now() < until && !send_request(c)) ++out.errors;
        break;
      }
    }
  }
  for (auto& c : clients)
    if (c.fd >= 0) ::close(c.fd);
  ::close(ep);
}

void serve_echo(int listen_fd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  epoll_event events[64];
  char buf[1 << 16];
  for (;;) {
    int k = epoll_wait(ep, events, 64, -1);
    for (int e = 0; e < k; ++e) {
      int fd = events[e].data.fd;
      if (fd == listen_fd) {
        for (int c; (c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        ::close(fd);
        continue;
      }
      // Closed-loop clients send one short line at a time: echo what came, as it came.
      for (ssize_t off = 0; off < r;) {
        ssize_t w = ::send(fd, buf + off, static_cast<size_t>(r - off), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) break;
        if (w > 0) off += w;
      }
    }
  }
}

}  // namespace

LoadResult run_load(const std::string& socket, unsigned clients, const std::string& line,
                    std::chrono::milliseconds duration, bool expect_echo) {
  const unsigned threads = std::min(2u, clients);  // the machine has two cores; so do most CI runners
  std::vector<ThreadResult> parts(threads);
  std::vector<std::thread> pool;
  auto start = clock_type::now();
  auto until = start + duration;
  for (unsigned t = 0; t < threads; ++t) {
    unsigned share = clients / threads + (t < clients % threads ? 1 : 0);
    pool.emplace_back([&, t, share] { drive(socket, share, line, until, expect_echo, parts[t]); });
  }
  for (auto& th : pool) th.join();
  LoadResult r;
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<uint32_t> all;
  for (auto& p : parts) {
    all.insert(all.end(), p.latencies_us.begin(), p.latencies_us.end());
    r.errors += p.errors;
  }
  r.requests = all.size();
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    auto at = [&](double q) { return all[std::min(all.size() - 1, static_cast<size_t>(q * all.size()))] / 1000.0; };
    r.p50_ms = at(0.50);
    r.p99_ms = at(0.99);
    r.max_ms = all.back() / 1000.0;
  }
  return r;
}

EchoServer::EchoServer(const std::string& socket) {
  ::unlink(socket.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un a = address_of(socket);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4096) != 0)
    throw std::runtime_error("echo server: cannot listen on " + socket + ": " + std::strerror(errno));
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid_ == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    serve_echo(fd);
    _exit(0);
  }
  ::close(fd);
}

EchoServer::~EchoServer() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {}
}

DaemonProcess::DaemonProcess(const std::string& dir, const std::string& allow) : socket_(dir + "/volmgrd.sock") {
  std::vector<std::string> argv{own_bin_dir() + "/mos_volmgrd", "--socket", socket_, "--run-dir", dir + "/run",
                                "--state-dir", dir + "/state", "--allow-devices", allow};
  std::vector<char*> args;
  for (auto& s : argv) args.push_back(s.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  wait_listening(socket_);
}

DaemonProcess::~DaemonProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {}
}

void wait_listening(const std::string& socket) {
  for (int i = 0; i < 1000; ++i) {
    int fd = connect_to(socket, false);
    if (fd >= 0) {
      ::close(fd);
      return;
    }
    usleep(10000);
  }
  throw std::runtime_error("nothing listens on " + socket);
}

uint64_t rss_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      uint64_t kib = 0;
      in >> kib;
      return kib * 1024;
    }
    std::getline(in, key);
  }
  return 0;
}

IdleConnections::IdleConnections(const std::string& socket, unsigned n) {
  for (unsigned i = 0; i < n; ++i) {
    int fd = connect_to(socket, false);
    if (fd < 0) break;
    fds_.push_back(fd);
  }
}

IdleConnections::~IdleConnections() {
  for (int fd : fds_) ::close(fd);
}

std::string own_bin_dir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace mos::bench
