// The daemon's whole life: the full method registry served on a Unix socket until SIGTERM/SIGINT.
#pragma once
#include <cstdio>
#include <string>

namespace mos::rpc {

struct DaemonOptions {
  std::string socket_path = "/run/mos_volmgrd/mos_volmgrd.sock";
  std::string allow_devices;  // comma-separated globs; empty = every device
  std::string run_dir = "/run/mos_volmgrd";
  unsigned workers = 8;
  std::FILE* log = nullptr;  // "listening"/"shut down" lines go here when set
};

// Blocks SIGTERM/SIGINT in every thread (the server takes them through signalfd), ignores
// SIGPIPE, then serves until a signal arrives. Throws mos::Error when the socket cannot be bound.
void run_daemon(const DaemonOptions& options);

}  // namespace mos::rpc
