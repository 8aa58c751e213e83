#include "engine/inventory/monitor.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "engine/inventory/cache.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

constexpr unsigned kKernelUeventGroup = 1;  // udev re-broadcasts on group 2; the kernel uses 1
constexpr size_t kUeventBytes = 8192;       // a kernel uevent datagram is at most 2 KiB of env
constexpr int kUeventReceiveBuffer = 1 << 20;
constexpr size_t kMaxUeventsPerApply = 4096;  // a storm beyond this becomes one full rescan
constexpr int kMonitorNice = 10;  // the monitor thread's nice value (background re-probing)

io::Fd open_uevent_socket() {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) throw_sys("socket(NETLINK_KOBJECT_UEVENT)", "", errno);
  io::Fd sock(fd, "uevent netlink");
  // Bounded: on overflow the kernel drops datagrams and recv reports ENOBUFS: we rescan all.
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kUeventReceiveBuffer, sizeof kUeventReceiveBuffer);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = kKernelUeventGroup;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) throw_sys("bind(uevent netlink)", "", errno);
  return sock;
}

}  // namespace

std::optional<Uevent> parse_uevent(const char* data, size_t size) {
  // "ACTION@DEVPATH" then NUL-separated KEY=VALUE; udev's own "libudev" messages are skipped.
  const char* end = data + size;
  const char* first_end = static_cast<const char*>(std::memchr(data, '\0', size));
  if (!first_end || !std::memchr(data, '@', static_cast<size_t>(first_end - data))) return std::nullopt;
  Uevent ev;
  for (const char* p = first_end + 1; p < end;) {
    const char* nul = static_cast<const char*>(std::memchr(p, '\0', static_cast<size_t>(end - p)));
    std::string_view kv(p, nul ? static_cast<size_t>(nul - p) : static_cast<size_t>(end - p));
    if (kv.starts_with("ACTION=")) ev.action = kv.substr(7);
    else if (kv.starts_with("SUBSYSTEM=")) ev.subsystem = kv.substr(10);
    else if (kv.starts_with("DEVNAME=")) ev.devname = kv.substr(8);
    if (!nul) break;
    p = nul + 1;
  }
  if (ev.action.empty() || ev.subsystem.empty()) return std::nullopt;
  // DEVNAME is relative to /dev; a block device's kernel name never holds a '/' or "..".
  if (ev.devname.rfind("/dev/", 0) == 0) ev.devname.erase(0, 5);
  if (ev.devname.find('/') != std::string::npos || ev.devname.find("..") != std::string::npos) ev.devname.clear();
  return ev;
}

Monitor::Monitor(InventoryCache& cache, std::chrono::milliseconds revalidate)
    : cache_(cache), revalidate_(revalidate) {
  uevents_ = open_uevent_socket();
  mountinfo_ = io::Fd::open("/proc/self/mountinfo", O_RDONLY);
  int w = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w < 0) throw_sys("eventfd", "", errno);
  wake_ = io::Fd(w, "monitor wake");
}

Monitor::~Monitor() {
  stop_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  if (thread_.joinable()) thread_.join();
}

void Monitor::start() {
  thread_ = std::thread([this] { run(); });
}

void Monitor::apply() {
  std::lock_guard lock(apply_mu_);
  applying_.store(true);
  struct Done {
    std::atomic<bool>& flag;
    ~Done() { flag.store(false); }
  } done{applying_};
  std::set<std::string> names;
  bool overflow = false;
  char buf[kUeventBytes];
  for (size_t n = 0;; ++n) {
    if (n == kMaxUeventsPerApply) {
      overflow = true;
      break;
    }
    ssize_t got = ::recv(uevents_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0) {
      if (errno == ENOBUFS) {  // the kernel dropped some: we no longer know what changed
        overflow = true;
        continue;
      }
      break;  // EAGAIN: drained
    }
    auto ev = parse_uevent(buf, static_cast<size_t>(got));
    if (ev && ev->subsystem == "block" && !ev->devname.empty()) names.insert(ev->devname);
  }
  bool mounts = mounts_pending_.exchange(false);
  if (overflow) {
    cache_.rebuild(nullptr);  // what is still queued comes back through the next apply()
  } else if (!names.empty() || mounts) {
    cache_.rebuild(&names);
  }
}

void Monitor::settle() {
  pollfd p[2] = {{uevents_.get(), POLLIN, 0}, {mountinfo_.get(), POLLPRI, 0}};
  if (::poll(p, 2, 0) < 0) return;
  // POLLPRI on mountinfo is consumed by the poll that sees it: remember it before applying.
  if (p[1].revents & (POLLPRI | POLLERR)) mounts_pending_.store(true);
  if ((p[0].revents & POLLIN) || mounts_pending_.load()) {
    apply();
  } else if (applying_.load()) {
    std::lock_guard wait(apply_mu_);  // the monitor thread already drained what we would: wait for its rebuild
  }
}

bool Monitor::pending() {
  if (applying_.load() || mounts_pending_.load()) return true;
  pollfd p[2] = {{uevents_.get(), POLLIN, 0}, {mountinfo_.get(), POLLPRI, 0}};
  if (::poll(p, 2, 0) < 0) return true;  // unknown: let a settling caller find out
  if (p[1].revents & (POLLPRI | POLLERR)) {  // consumed by this poll: hand it to the monitor thread
    mounts_pending_.store(true);
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
  }
  return (p[0].revents & POLLIN) || mounts_pending_.load() || applying_.load();
}

void Monitor::run() {
  // Background work: re-probing after a change must not take the CPU from the request that
  // caused it (a format answering its caller) nor from other clients. Queries that need the
  // model current apply pending changes on their own thread (settle()).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kMonitorNice);
  using clock = std::chrono::steady_clock;
  auto next_revalidation = clock::now() + revalidate_;
  while (!stop_.load()) {
    int timeout = -1;
    if (revalidate_.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_revalidation - clock::now()).count();
      timeout = static_cast<int>(std::max<long long>(0, left));
    }
    pollfd p[3] = {{uevents_.get(), POLLIN, 0}, {mountinfo_.get(), POLLPRI, 0}, {wake_.get(), POLLIN, 0}};
    int n = ::poll(p, 3, timeout);
    if (n < 0 && errno != EINTR) break;
    if (stop_.load()) break;
    try {
      if (n > 0) {
        if (p[2].revents & POLLIN) {  // pending() handed over a mount change
          uint64_t v;
          (void)!::read(wake_.get(), &v, sizeof v);
        }
        if (p[1].revents & (POLLPRI | POLLERR)) mounts_pending_.store(true);
        if ((p[0].revents & POLLIN) || mounts_pending_.load()) apply();
      }
      if (revalidate_.count() > 0 && clock::now() >= next_revalidation) {
        cache_.revalidate();  // what nobody announced: a tool's mkfs without udev, subvolumes
        next_revalidation = clock::now() + revalidate_;
      }
    } catch (const std::exception&) {
      // A failed rebuild keeps the previous model; the next event or revalidation retries.
    }
  }
}

}  // namespace mos::engine
