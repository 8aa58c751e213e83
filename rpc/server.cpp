#include "rpc/server.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "engine/inventory/events.hpp"
#include "engine/inventory/cache.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "engine/json.hpp"
#include "rpc/auth.hpp"
#include "rpc/dispatch.hpp"
#include "rpc/listen_socket.hpp"
#include "rpc/server_shared.hpp"
#include "rpc/shares.hpp"
#include "rpc/worker_pool.hpp"

namespace mos::rpc {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kListenTag = 1, kWakeTag = 2, kSignalTag = 3, kFirstConn = 16;
constexpr size_t kLineOverhead = 64;  // bookkeeping bytes charged per queued request line
constexpr auto kTrimAfterIdle = std::chrono::seconds(2);  // no worker answer for this long: heap back to the kernel
constexpr size_t kInlineParseBytes = 4096;  // longer lines are parsed on a worker, not the I/O thread
// Work one connection's queued requests may take per event-loop turn (request and answer bytes,
// plus kLineOverhead per request); the rest waits for the next turn, so a pipelining client
// cannot hold the loop while others wait.
constexpr size_t kTurnBudgetBytes = 64 << 10;

struct Conn {
  int fd = -1;
  Caller caller;
  std::string in;
  std::deque<std::string> lines;  // complete requests waiting for this connection's turn
  size_t lines_bytes = 0;
  std::string out;
  size_t out_off = 0;             // bytes of `out` already sent
  bool busy = false;              // one request of this connection is being answered
  bool read_closed = false;       // peer shut down its side: answer what we have, then close
  bool closing = false;           // close as soon as `out` is flushed
  uint32_t armed = EPOLLIN | EPOLLRDHUP;
  Clock::time_point last_active = Clock::now();
  uint64_t turn = 0;              // the loop turn turn_bytes counts for
  size_t turn_bytes = 0;          // work done for this connection in that turn (kTurnBudgetBytes)

  size_t pending_out() const { return out.size() - out_off; }
};

std::string error_line(int code, const std::string& message) {
  return engine::json_text(make_error(code, message, nullptr)) + "\n";
}

std::string dropped_notice(const std::string& why) {
  json n = {{"jsonrpc", "2.0"},
            {"method", "storage.event"},
            {"params", {{"topic", "subscription"}, {"kind", "dropped"}, {"data", {{"reason", why}}}}}};
  return engine::json_text(n) + "\n";
}

}  // namespace

struct Server::Impl {
  ServerOptions opts;
  const Registry& registry;
  engine::Context& ctx;
  Dispatcher dispatcher;
  std::optional<gid_t> admin_gid;
  ListenSocket listener;
  int epoll_fd = -1, signal_fd = -1, reserve_fd = -1;
  std::shared_ptr<ServerShared> shared = std::make_shared<ServerShared>();
  std::map<uint64_t, Conn> conns;
  uint64_t next_conn = kFirstConn;
  uint64_t bus_token = 0;
  Clock::time_point accept_paused_until{}, last_sweep = Clock::now();
  // Freed heap is kept for the next request (see run_daemon's mallopt) and handed back to the
  // kernel once no worker has answered for kTrimAfterIdle.
  Clock::time_point last_worker_answer{};
  bool heap_used = false;
  bool accept_paused = false;

  ConnectionShares shares{opts.limits};
  size_t total_out = 0;         // unread output of all connections (Limits::max_total_output)
  std::set<uint64_t> output_blocked;  // connections not read or served for total_out: re-check them
  uint64_t turn = 1;                  // event-loop turns, for Conn::turn_bytes
  std::set<uint64_t> deferred;        // connections whose turn budget ran out with requests queued

  WorkerPool pool;
  std::vector<std::string> abandoned;  // calls the pool left running at shutdown
  std::atomic<bool> stop_requested{false};
  // The inventory model as last found fresh, or null; model_checked is cleared by every received
  // request, so a model read inline is always checked after the request arrived.
  std::shared_ptr<const engine::InventorySnapshot> model;
  bool model_checked = false;

  Impl(ServerOptions o, const Registry& r, engine::Context& c)
      : opts(std::move(o)), registry(r), ctx(c), dispatcher{r, c, opts.limits, opts.audit} {}

  void run_task(Task& t);
  bool has_room(uint64_t id, const Conn& c);
  bool within_turn(Conn& c);
  void resume_blocked();
  void accept_all();
  void set_accept_interest(bool on);
  void refuse(int fd, const std::string& why);
  void on_readable(uint64_t id);
  void drain();
  void take_events();
  void schedule(uint64_t id);
  bool answer_inline(uint64_t id, Conn& c, const std::string& line, json& req);
  const std::shared_ptr<const engine::InventorySnapshot>& fresh_model();
  void flush(uint64_t id);
  void append(Conn& c, const std::string& s) {
    c.out += s;
    total_out += s.size();
  }
  void close_conn(uint64_t id);
  void update_events(uint64_t id);
  void sweep();
  void shutdown_all();
};

// A worker's call: the request runs, its answer goes back to the loop through shared.
void Server::Impl::run_task(Task& t) {
  ConnSubscriptions subs(*shared, t.conn);
  CallEnv env{t.caller, &subs, &opts.limits};
  auto sh = shared;
  uint64_t conn = t.conn;
  try {
    Answer answer = [sh, conn](std::optional<std::string> r) { sh->answer(conn, std::move(r)); };
    if (t.line.empty()) dispatcher.run(t.req, env, std::move(answer));
    else dispatcher.dispatch(t.line, env, std::move(answer));
  } catch (const std::exception& e) {
    sh->answer(conn, error_line(-32603, std::string("Internal error: ") + e.what()));
  }
}

// Whether c may be read and its next request started (backpressure): a connection that keeps up
// (nothing unread) always; else while its own unread output and everyone's together are under
// their budgets (resume_blocked re-checks the ones held back for the total).
bool Server::Impl::has_room(uint64_t id, const Conn& c) {
  if (c.pending_out() == 0) return true;
  if (c.pending_out() >= opts.limits.max_connection_output) return false;
  if (total_out >= opts.limits.max_total_output) {
    output_blocked.insert(id);
    return false;
  }
  return true;
}

// Whether c may still do work in this loop turn (kTurnBudgetBytes).
bool Server::Impl::within_turn(Conn& c) {
  if (c.turn != turn) {
    c.turn = turn;
    c.turn_bytes = 0;
  }
  return c.turn_bytes < kTurnBudgetBytes;
}

// Only the connections held back for the total are re-checked, not every connection.
void Server::Impl::resume_blocked() {
  if (output_blocked.empty() || total_out >= opts.limits.max_total_output) return;
  std::set<uint64_t> ids;
  ids.swap(output_blocked);
  for (uint64_t id : ids)
    if (conns.count(id)) flush(id);
}

void Server::Impl::update_events(uint64_t id) {
  Conn& c = conns.at(id);
  const Limits& l = opts.limits;
  // Backpressure: a connection whose answers pile up unread, or whose requests queue up, is not
  // read until they drain. After the peer's EOF, EPOLLIN/RDHUP would fire forever.
  bool read = !c.read_closed && !c.closing && has_room(id, c) && c.lines_bytes < l.max_line_bytes;
  uint32_t want = (read ? uint32_t{EPOLLIN | EPOLLRDHUP} : 0u) | (c.pending_out() ? uint32_t{EPOLLOUT} : 0u);
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
  size_t held = it->second.in.capacity() + it->second.out.capacity() + it->second.lines_bytes;
  total_out -= it->second.pending_out();
  shares.closed(it->second.caller.uid);
  epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->second.fd, nullptr);
  close(it->second.fd);
  conns.erase(it);
  output_blocked.erase(id);
  deferred.erase(id);
  {
    std::lock_guard lk(shared->mu);
    shared->live.erase(id);
    shared->owner.erase(id);
    shared->subs.erase(id);
    shared->queued_bytes.erase(id);
    shared->dropped.erase(id);
  }
  if (held > (1u << 20)) malloc_trim(0);  // give a big client's buffers back to the system
}

void Server::Impl::refuse(int fd, const std::string& why) {
  std::string line = error_line(static_cast<int>(ErrorCode::storage_failed), why);
  (void)!send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  close(fd);
}

void Server::Impl::set_accept_interest(bool on) {
  epoll_event ev{};
  ev.events = on ? uint32_t{EPOLLIN} : 0u;
  ev.data.u64 = kListenTag;
  epoll_ctl(epoll_fd, EPOLL_CTL_MOD, listener.fd, &ev);
  accept_paused = !on;
  if (!on) accept_paused_until = Clock::now() + std::chrono::milliseconds(200);
}

void Server::Impl::accept_all() {
  for (;;) {
    int fd = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd >= 0) {
        // Out of descriptors: free the reserved one to tell the newcomer and close it, so the
        // backlog drains instead of waking us forever.
        close(reserve_fd);
        reserve_fd = -1;
        int late = accept4(listener.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (late >= 0) refuse(late, "mos_volmgrd is out of file descriptors; try again later");
        reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (late >= 0) continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) set_accept_interest(false);
      return;  // EAGAIN: backlog empty
    }
    Caller caller = peer_caller(fd, admin_gid);
    if (auto why = shares.refusal(caller, conns.size())) {
      refuse(fd, *why);
      continue;
    }
    uint64_t id = next_conn++;
    Conn c;
    c.fd = fd;
    c.caller = caller;
    conns.emplace(id, std::move(c));
    shares.opened(caller.uid);
    {
      std::lock_guard lk(shared->mu);
      shared->live.insert(id);
      shared->owner[id] = caller.uid;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = id;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  }
}

const std::shared_ptr<const engine::InventorySnapshot>& Server::Impl::fresh_model() {
  if (!model_checked) {
    model = ctx.inventory ? ctx.inventory->fresh_snapshot() : nullptr;
    model_checked = true;
  }
  return model;
}

// Answers a request that needs no worker (Method::path, Dispatcher::answers_inline) into c.out
// on this thread; false leaves it for a worker, parsed into req when it was.
bool Server::Impl::answer_inline(uint64_t id, Conn& c, const std::string& line, json& req) {
  if (line.size() > kInlineParseBytes) return false;
  auto to_conn = [this, &c](std::optional<std::string> r) {
    if (!r) return;
    append(c, *r);
    append(c, "\n");
  };
  try {
    if (!dispatcher.parse(line, req, to_conn)) return true;
    ConnSubscriptions subs(*shared, id);
    CallEnv env{c.caller, &subs, &opts.limits, fresh_model()};
    if (!dispatcher.answers_inline(req, env)) return false;
    dispatcher.run(req, env, to_conn);
  } catch (const std::exception& e) {
    append(c, error_line(-32603, std::string("Internal error: ") + e.what()));
  }
  return true;
}

void Server::Impl::schedule(uint64_t id) {
  Conn& c = conns.at(id);
  // In order, one at a time per connection: requests answered from memory right here, the first
  // other one handed to a worker. Unread answers over budget: the rest waits until the peer
  // reads (flush resumes it).
  while (!c.busy && !c.lines.empty() && !c.closing && has_room(id, c)) {
    if (!within_turn(c)) {
      deferred.insert(id);  // the next turn goes on with it, after the others had theirs
      return;
    }
    Task t{id, c.caller, std::move(c.lines.front()), json()};
    c.lines_bytes -= t.line.size() + kLineOverhead;
    c.lines.pop_front();
    size_t out_before = c.out.size();
    bool answered = answer_inline(id, c, t.line, t.req);
    c.turn_bytes += t.line.size() + kLineOverhead + (c.out.size() - out_before);
    if (answered) continue;
    if (!t.req.is_null()) t.line.clear();  // parsed already: the worker runs req
    c.busy = true;
    pool.push(std::move(t));
  }
}

void Server::Impl::flush(uint64_t id) {
  Conn& c = conns.at(id);
  for (;;) {
    while (c.pending_out()) {
      ssize_t n = send(c.fd, c.out.data() + c.out_off, c.pending_out(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) break;
        close_conn(id);  // peer vanished
        return;
      }
      c.out_off += static_cast<size_t>(n);
      total_out -= static_cast<size_t>(n);
      c.last_active = Clock::now();
    }
    if (!c.pending_out()) {
      if (c.out.capacity() > (256u << 10)) c.out = std::string();  // release a drained big buffer
      c.out.clear();
      c.out_off = 0;
    } else if (c.out_off > (64u << 10) && c.out_off > c.out.size() / 2) {
      c.out.erase(0, c.out_off);
      c.out_off = 0;
    }
    if (!c.pending_out() && (c.closing || (c.read_closed && !c.busy && c.lines.empty()))) {
      close_conn(id);
      return;
    }
    size_t before = c.pending_out();
    schedule(id);
    if (before || c.pending_out() == before) break;  // socket full, or nothing new answered
  }
  update_events(id);
}

void Server::Impl::on_readable(uint64_t id) {
  Conn& c = conns.at(id);
  const Limits& l = opts.limits;
  char buf[65536];
  auto too_long = [&] {
    c.in.clear();
    c.lines.clear();
    c.lines_bytes = 0;
    append(c, error_line(-32600, "Invalid Request: request line exceeds " + std::to_string(l.max_line_bytes) +
                                     " bytes (--max-line-bytes); closing connection"));
    c.closing = true;
  };
  while (!c.closing && has_room(id, c) && c.lines_bytes < l.max_line_bytes) {
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
    model_checked = false;  // a model read for what arrived now must be checked after it
    c.last_active = Clock::now();
    c.in.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = c.in.find('\n', start)) != std::string::npos; start = nl + 1) {
      size_t len = nl - start;
      if (len > 0 && c.in[nl - 1] == '\r') --len;
      if (len > l.max_line_bytes) {
        too_long();
        break;
      }
      std::string line = c.in.substr(start, len);
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      c.lines_bytes += line.size() + kLineOverhead;
      c.lines.push_back(std::move(line));
    }
    if (c.closing) break;
    c.in.erase(0, start);
    if (c.in.size() > l.max_line_bytes) too_long();
    if (static_cast<size_t>(n) < sizeof buf) break;  // drained for now; epoll reports more (level-triggered)
  }
  if (c.read_closed && !c.closing) {
    // A final request without a trailing newline still counts.
    if (c.in.find_first_not_of(" \t\r") != std::string::npos) {
      c.lines_bytes += c.in.size() + kLineOverhead;
      c.lines.push_back(std::move(c.in));
    }
    c.in = std::string();
  }
  // The caller flushes (answers, sends) once every ready connection was read.
}

void Server::Impl::take_events() {
  std::deque<std::pair<uint64_t, std::shared_ptr<const std::string>>> events;
  std::set<uint64_t> dropped, subscribed;
  {
    std::lock_guard lk(shared->mu);
    events.swap(shared->events);
    dropped.swap(shared->dropped);
    shared->queued_bytes.clear();
    // Events queued before a subscription was cancelled (by the loop in an earlier round) are not
    // delivered: the connection was told once and is not told again.
    for (const auto& [id, topics] : shared->subs) subscribed.insert(id);
  }
  std::set<uint64_t> touched;
  auto drop = [&](uint64_t id) {
    {
      std::lock_guard lk(shared->mu);
      shared->subs.erase(id);
    }
    dropped.insert(id);
  };
  for (auto& [id, line] : events) {
    auto it = conns.find(id);
    if (it == conns.end() || dropped.count(id) || !subscribed.count(id)) continue;
    if (it->second.pending_out() + line->size() > opts.limits.max_connection_output ||
        (it->second.pending_out() && total_out + line->size() > opts.limits.max_total_output)) {
      drop(id);
      continue;
    }
    append(it->second, *line);
    touched.insert(id);
  }
  for (uint64_t id : dropped)
    if (auto it = conns.find(id); it != conns.end()) {
      append(it->second, dropped_notice("unread events passed " + std::to_string(opts.limits.max_connection_output) +
                                        " bytes for this connection (--max-connection-output) or " +
                                        std::to_string(opts.limits.max_total_output) +
                                        " for all together (--max-total-output); subscription cancelled, subscribe again"));
      touched.insert(id);
    }
  for (uint64_t id : touched)
    if (conns.count(id)) flush(id);
}

void Server::Impl::drain() {
  uint64_t v;
  (void)!read(shared->wake_fd, &v, sizeof v);
  std::deque<WorkerAnswer> batch;
  {
    std::lock_guard lk(shared->mu);
    batch.swap(shared->done);
  }
  if (!batch.empty()) {
    last_worker_answer = Clock::now();
    heap_used = true;
  }
  for (auto& d : batch) {
    auto it = conns.find(d.conn);
    if (it == conns.end()) continue;  // client left; its answer is dropped
    it->second.busy = false;
    if (d.response) {
      append(it->second, *d.response);
      append(it->second, "\n");
    }
    flush(d.conn);
  }
  take_events();
}

void Server::Impl::sweep() {
  auto now = Clock::now();
  if (accept_paused && now >= accept_paused_until) set_accept_interest(true);
  if (heap_used && now - last_worker_answer >= kTrimAfterIdle) {
    heap_used = false;
    malloc_trim(0);
  }
  if (now - last_sweep < std::chrono::seconds(1) || opts.limits.idle_timeout_seconds == 0) return;
  last_sweep = now;
  auto limit = std::chrono::seconds(opts.limits.idle_timeout_seconds);
  std::vector<uint64_t> idle;
  {
    std::lock_guard lk(shared->mu);
    // Idle: nothing in flight and no subscription, or answers the peer has not read for as long.
    for (auto& [id, c] : conns)
      if (!c.busy && now - c.last_active > limit && (c.pending_out() || (c.lines.empty() && !shared->subs.count(id))))
        idle.push_back(id);
  }
  for (uint64_t id : idle) close_conn(id);
}

void Server::Impl::shutdown_all() {
  if (bus_token && ctx.events) ctx.events->unsubscribe(bus_token);
  bus_token = 0;
  while (!conns.empty()) close_conn(conns.begin()->first);
  if (listener.fd >= 0) {
    close(listener.fd);
    if (!listener.activated) unlink(opts.socket_path.c_str());
    listener.fd = -1;
  }
  if (ctx.jobs) ctx.jobs->cancel_all();  // running handlers waiting on jobs return promptly
  // A worker still in a call after the bound (blocked in the kernel) is abandoned: named in the
  // log, and this server's state is kept for it (~Server leaves it).
  abandoned = pool.stop_within(opts.limits.shutdown_timeout_seconds);
  if (opts.log) log_abandoned(opts.log, abandoned, opts.limits.shutdown_timeout_seconds);
}

Server::Server(ServerOptions opts, const Registry& registry, engine::Context& ctx)
    : impl_(new Impl(std::move(opts), registry, ctx)) {
  impl_->shared->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->shared->event_budget = impl_->opts.limits.max_connection_output;
  impl_->shared->max_subscriptions_per_uid = impl_->opts.limits.max_subscriptions_per_uid;
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (impl_->shared->wake_fd < 0 || impl_->epoll_fd < 0) throw_sys("epoll/eventfd", "", errno);
  if (!impl_->opts.admin_group.empty()) impl_->admin_gid = group_id(impl_->opts.admin_group);
}

Server::~Server() {
  if (impl_->listener.fd >= 0) impl_->shutdown_all();
  if (!impl_->abandoned.empty()) return;  // abandoned workers still use it: the process is ending
  if (impl_->signal_fd >= 0) close(impl_->signal_fd);
  if (impl_->reserve_fd >= 0) close(impl_->reserve_fd);
  {
    std::lock_guard lk(impl_->shared->mu);
    impl_->shared->closed = true;  // late deferred replies and events are dropped from now on
    close(impl_->shared->wake_fd);
  }
  close(impl_->epoll_fd);
  delete impl_;
}

const std::vector<std::string>& Server::abandoned() const { return impl_->abandoned; }

void Server::stop() {
  impl_->stop_requested.store(true);
  impl_->shared->wake();
}

void Server::listen() {
  if (impl_->listener.fd < 0)
    impl_->listener = open_listen_socket(impl_->opts.socket_path, impl_->opts.socket_mode, impl_->opts.socket_group);
}

void Server::run() {
  Impl& s = *impl_;
  listen();
  s.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenTag;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.listener.fd, &ev);
  ev.data.u64 = kWakeTag;
  epoll_ctl(s.epoll_fd, EPOLL_CTL_ADD, s.shared->wake_fd, &ev);
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
  if (s.ctx.events) {
    auto sh = s.shared;
    s.bus_token = s.ctx.events->subscribe([sh](const engine::Event& e) { sh->publish(e); });
  }
  s.pool.start(std::max(1u, s.opts.workers), [&s](Task& t) { s.run_task(t); });
  ready_.store(true);

  epoll_event events[64];
  std::vector<uint64_t> read_now;
  while (!s.stop_requested.load()) {
    ++s.turn;
    std::set<uint64_t> carried;  // connections the last turn left work for: they go on after this turn's events
    carried.swap(s.deferred);
    int timeout_ms = !carried.empty() ? 0 : s.accept_paused ? 100 : 1000;
    int n = epoll_wait(s.epoll_fd, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n && !s.stop_requested.load(); ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        s.accept_all();
      } else if (tag == kWakeTag) {
        s.drain();
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
          if (s.conns.count(tag)) read_now.push_back(tag);
        } else if (e & EPOLLOUT) {
          s.flush(tag);
        }
      }
    }
    // Everything that arrived in this round is read before the model is checked for it once.
    for (uint64_t id : read_now)
      if (s.conns.count(id)) s.flush(id);
    read_now.clear();
    for (uint64_t id : carried)
      if (s.conns.count(id)) s.flush(id);
    s.resume_blocked();
    s.sweep();
  }
  s.shutdown_all();
  ready_.store(false);
}

}  // namespace mos::rpc
