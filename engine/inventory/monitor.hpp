// The inventory's watcher: one thread polling the kernel's block uevents (NETLINK_KOBJECT_UEVENT,
// kernel multicast group: no udev needed), /proc/self/mountinfo (POLLPRI on mount table
// changes) and a revalidation timer, and telling the InventoryCache what to rebuild.
#pragma once
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "ioctl/fd.hpp"

namespace mos::engine {

class InventoryCache;

// One kernel uevent: "ACTION@DEVPATH\0KEY=VALUE\0..." (bounded by the datagram it came in).
struct Uevent {
  std::string action;     // add | remove | change | ...
  std::string subsystem;  // block | ...
  std::string devname;    // kernel name: loop3, loop3p1
};
// Parses one datagram; nullopt for anything that is not a well-formed kernel uevent.
std::optional<Uevent> parse_uevent(const char* data, size_t size);

class Monitor {
 public:
  Monitor(InventoryCache& cache, std::chrono::milliseconds revalidate);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  void start();
  // From a query thread: applies changes that are already announced (queued uevents, a mount
  // table change) before the query reads the model. Cheap when nothing is pending (one poll).
  void settle();
  // Without applying anything: true when a change is announced and not yet in the model (queued
  // uevents, a mount table change, an apply() under way). A mount change seen here is left for
  // the monitor thread, which is woken.
  bool pending();

 private:
  void run();
  // Drains queued uevents and rebuilds what they and a pending mount change name.
  void apply();

  InventoryCache& cache_;
  std::chrono::milliseconds revalidate_;
  io::Fd uevents_, mountinfo_, wake_;
  std::mutex apply_mu_;
  std::atomic<bool> mounts_pending_{false}, applying_{false}, stop_{false};
  std::thread thread_;
};

}  // namespace mos::engine
