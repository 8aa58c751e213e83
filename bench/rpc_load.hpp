// The `rpc` scenario's tools: a bare epoll echo server on a Unix socket (the machine's limit for
// one request line in, one line out), a closed-loop load generator (N connections, each sends a
// request line and waits for its answer), the daemon as a child process, and RSS readings.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace mos::bench {

struct LoadResult {
  uint64_t requests = 0;
  uint64_t errors = 0;  // error answers, wrong answers, broken connections
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double per_second() const { return seconds > 0 ? requests / seconds : 0; }
};

// `clients` connections to `socket`, each sending `line` (with its newline) and waiting for one
// answer line, for `duration`. An answer counts as an error when it has no "result" member or
// has a JSON-RPC error object ("error":{ — results may carry fields named error, e.g. a
// subvolume listing's "error":null) or, with `expect_echo`, differs from the request.
LoadResult run_load(const std::string& socket, unsigned clients, const std::string& line,
                    std::chrono::milliseconds duration, bool expect_echo);

// A child process serving the echo protocol on `socket` until stop().
class EchoServer {
 public:
  explicit EchoServer(const std::string& socket);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// mos_volmgrd (next to this executable) as a child process, stopped with SIGTERM. Its socket,
// run and state directories all lie in `dir` (never the host's /run/mos_volmgrd or
// /var/lib/mos_volmgrd, where earlier runs' jobs live).
class DaemonProcess {
 public:
  DaemonProcess(const std::string& dir, const std::string& allow_devices);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }

 private:
  std::string socket_;
  pid_t pid_ = -1;
};

// Waits until `socket` accepts a connection; throws after ~10 s.
void wait_listening(const std::string& socket);
// Resident set of a process in bytes (VmRSS).
uint64_t rss_bytes(pid_t pid);
// Opens n connections to socket and keeps them idle until destroyed.
class IdleConnections {
 public:
  IdleConnections(const std::string& socket, unsigned n);
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  size_t open() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};
// Directory of the running executable (build/bin).
std::string own_bin_dir();

}  // namespace mos::bench
