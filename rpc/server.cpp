#include "rpc/server.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/jobs.hpp"
#include "ioctl/error.hpp"
#include "rpc/dispatch.hpp"

namespace mos::rpc {
namespace {

constexpr uint64_t kListenTag = 1, kWakeTag = 2, kSignalTag = 3, kFirstConn = 16;

struct Conn {
  int fd = -1;
  std::string in, out;
  std::deque<std::string> lines;  // complete requests waiting for this connection's turn
  bool busy = false;              // one request of this connection is on the worker pool
  bool read_closed = false;       // peer shut down its side: answer what we have, then close
  bool closing = false;           // close as soon as `out` is flushed
  uint32_t armed = EPOLLIN | EPOLLRDHUP;  // events currently registered with epoll
};

struct Task {
  uint64_t conn;
  std::string line;
};

struct Done {
  uint64_t conn;
  std::optional<std::string> response;
};

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  const Registry& registry;
  engine::Context& ctx;
  int listen_fd = -1, epoll_fd = -1, wake_fd = -1, signal_fd = -1;
  std::map<uint64_t, Conn> conns;
  uint64_t next_conn = kFirstConn;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Task> tasks;
  std::deque<Done> done;
  bool stopping = false;
  std::atomic<bool> stop_requested{false};
  std::vector<std::thread> workers;

  Impl(ServerOptions o, const Registry& r, engine::Context& c) : opts(std::move(o)), registry(r), ctx(c) {}

  void bind_socket();
  void worker_loop();
  void accept_all();
  void on_readable(uint64_t id);
  void on_writable(uint64_t id);
  void drain_done();
  void schedule(uint64_t id);
  void flush(uint64_t id);
  void close_conn(uint64_t id);
  void update_events(uint64_t id);
  void shutdown_all();
};

void Server::Impl::bind_socket() {
  std::filesystem::path p(opts.socket_path);
  if (opts.socket_path.size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error(ErrorCode::validation, "socket path too long: " + opts.socket_path, opts.socket_path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, opts.socket_path.c_str(), sizeof addr.sun_path - 1);
  struct stat st {};
  if (lstat(opts.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error(ErrorCode::validation, opts.socket_path + " exists and is not a socket; refusing to replace it",
                  opts.socket_path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live)
      throw Error(ErrorCode::storage_failed, "another daemon is already listening on " + opts.socket_path,
                  opts.socket_path);
    unlink(opts.socket_path.c_str());  // stale socket from a previous run
  }
  listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0) throw_sys("socket", opts.socket_path, errno);
  if (bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_sys("bind", opts.socket_path, errno);
  if (chmod(opts.socket_path.c_str(), opts.socket_mode) < 0) throw_sys("chmod", opts.socket_path, errno);
  if (listen(listen_fd, 512) < 0) throw_sys("listen", opts.socket_path, errno);
}

void Server::Impl::worker_loop() {
  for (;;) {
    Task t;
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return stopping || !tasks.empty(); });
      if (stopping) return;
      t = std::move(tasks.front());
      tasks.pop_front();
    }
    std::optional<std::string> resp;
    try {
      resp = handle_message(t.line, registry, ctx);
    } catch (const std::exception& e) {
      resp = make_error(-32603, std::string("Internal error: ") + e.what(), nullptr).dump(-1, ' ', false, json::error_handler_t::replace);
    }
    {
      std::lock_guard lk(mu);
      done.push_back(Done{t.conn, std::move(resp)});
    }
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof one);
  }
}

void Server::Impl::update_events(uint64_t id) {
  Conn& c = conns.at(id);
  // After the peer's EOF, EPOLLIN/RDHUP would fire forever: only watch for writability.
  uint32_t want = (c.read_closed ? 0u : uint32_t{EPOLLIN | EPOLLRDHUP}) | (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
  if (want == c.armed) return;
  c.armed = want;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = id;
  epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
}

void Server::Impl::close_conn(uint64_t id) {
  auto it = conns.find(id);
  if (it == conns.end()) return;
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
  close(it->second.fd);
  conns.erase(it);
}

void Server::Impl::accept_all() {
  for (;;) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE): try again on the next event
    uint64_t id = next_conn++;
    Conn c;
    c.fd = fd;
    conns.emplace(id, std::move(c));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = id;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
}

void Server::Impl::schedule(uint64_t id) {
  Conn& c = conns.at(id);
  if (c.busy || c.lines.empty() || c.closing) return;
  c.busy = true;
  Task t{id, std::move(c.lines.front())};
  c.lines.pop_front();
  {
    std::lock_guard lk(mu);
    tasks.push_back(std::move(t));
  }
  cv.notify_one();
}

void Server::Impl::flush(uint64_t id) {
  Conn& c = conns.at(id);
  while (!c.out.empty()) {
    ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      close_conn(id);  // peer vanished
      return;
    }
    c.out.erase(0, static_cast<size_t>(n));
  }
  if (c.out.size() > opts.max_pending_output) {  // client stopped reading its answers
    close_conn(id);
    return;
  }
  if (c.out.empty() && (c.closing || (c.read_closed && !c.busy && c.lines.empty()))) {
    close_conn(id);
    return;
  }
  update_events(id);
}

void Server::Impl::on_readable(uint64_t id) {
  Conn& c = conns.at(id);
  char buf[65536];
  for (;;) {
    ssize_t n = recv(c.fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      close_conn(id);
      return;
    }
    if (n == 0) {
      c.read_closed = true;
      break;
    }
    c.in.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = c.in.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = c.in.substr(start, nl - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.size() > opts.max_line_bytes) {
        c.in.clear();
        start = 0;
        c.lines.clear();
        c.out += make_error(-32600, "Invalid Request: request line exceeds " + std::to_string(opts.max_line_bytes) +
                                        " bytes; closing connection", nullptr).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
        c.closing = true;
        break;
      }
      if (line.find_first_not_of(" \t") != std::string::npos) c.lines.push_back(std::move(line));
    }
    if (c.closing) break;
    c.in.erase(0, start);
    if (c.in.size() > opts.max_line_bytes) {
      c.in.clear();
      c.lines.clear();
      c.out += make_error(-32600, "Invalid Request: request line exceeds " + std::to_string(opts.max_line_bytes) +
                                      " bytes; closing connection", nullptr).dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
      c.closing = true;
      break;
    }
  }
  if (c.read_closed && !c.closing) {
    // A final request without a trailing newline still counts.
    if (!c.in.empty() && c.in.find_first_not_of(" \t\r") != std::string::npos) c.lines.push_back(std::move(c.in));
    c.in.clear();
  }
  schedule(id);
  flush(id);
}

void Server::Impl::on_writable(uint64_t id) { flush(id); }

void Server::Impl::drain_done() {
  uint64_t v;
  (void)!read(wake_fd, &v, sizeof v);
  std::deque<Done> batch;
  {
    std::lock_guard lk(mu);
    batch.swap(done);
  }
  for (auto& d : batch) {
    auto it = conns.find(d.conn);
    if (it == conns.end()) continue;  // client left; its answer is dropped
    it->second.busy = false;
    if (d.response) it->second.out += *d.response + "\n";
    schedule(d.conn);
    flush(d.conn);
  }
}

void Server::Impl::shutdown_all() {
  for (auto it = conns.begin(); it != conns.end();) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
    close(it->second.fd);
    it = conns.erase(it);
  }
  if (listen_fd >= 0) {
    close(listen_fd);
    listen_fd = -1;
    unlink(opts.socket_path.c_str());
  }
  if (ctx.jobs) ctx.jobs->cancel_all();  // running handlers waiting on jobs return promptly
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  cv.notify_all();
  for (auto& t : workers)
    if (t.joinable()) t.join();
  workers.clear();
}

Server::Server(ServerOptions opts, const Registry& registry, engine::Context& ctx)
    : impl_(new Impl(std::move(opts), registry, ctx)) {
  impl_->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl_->wake_fd < 0 || impl_->epoll_fd < 0) throw_sys("epoll/eventfd", "", errno);
}

Server::~Server() {
  if (impl_->listen_fd >= 0) impl_->shutdown_all();
  if (impl_->signal_fd >= 0) close(impl_->signal_fd);
  close(impl_->wake_fd);
  close(impl_->epoll_fd);
  delete impl_;
}

void Server::stop() {
  impl_->stop_requested.store(true);
  uint64_t one = 1;
  (void)!write(impl_->wake_fd, &one, sizeof one);
}

void Server::run() {
  Impl& s = *impl_;
  s.bind_socket();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listen_fd, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.wake_fd, &ev);
  if (s.opts.handle_signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    s.signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (s.signal_fd < 0) throw_sys("signalfd", "", errno);
    ev.data.u64 = kSignalTag;
    epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.signal_fd, &ev);
  }
  for (unsigned i = 0; i < std::max(1u, s.opts.workers); ++i) s.workers.emplace_back([&s] { s.worker_loop(); });
  ready_.store(true);

  epoll_event events[64];
  while (!s.stop_requested.load()) {
    int n = epoll_wait(s.epoll_fd, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n && !s.stop_requested.load(); ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        s.accept_all();
      } else if (tag == kWakeTag) {
        s.drain_done();
      } else if (tag == kSignalTag) {
        signalfd_siginfo si;
        (void)!read(s.signal_fd, &si, sizeof si);
        s.stop_requested.store(true);
      } else if (s.conns.count(tag)) {
        uint32_t e = events[i].events;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
          if ((e & EPOLLERR) || ((e & EPOLLHUP) && !(e & EPOLLIN))) {
            s.close_conn(tag);
            continue;
          }
          s.on_readable(tag);
        }
        if (s.conns.count(tag) && (e & EPOLLOUT)) s.on_writable(tag);
      }
    }
  }
  s.shutdown_all();
  ready_.store(false);
}

}  // namespace mos::rpc
