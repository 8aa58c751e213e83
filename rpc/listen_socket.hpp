// The daemon's listening socket, created so that nobody can race it: a trusted run directory
// (root-owned, not writable by group/others), bind under umask 0177, then the final mode and
// group. Or the socket systemd passed (LISTEN_FDS/LISTEN_PID, fd 3).
#pragma once
#include <string>

namespace mos::rpc {

struct ListenSocket {
  int fd = -1;
  bool activated = false;  // from systemd: never unlinked by us
};

// Throws mos::Error naming the path and the fix when the directory is untrusted, another daemon
// listens there, or bind/listen fail. group "" keeps the daemon's primary group.
ListenSocket open_listen_socket(const std::string& path, unsigned mode, const std::string& group);

}  // namespace mos::rpc
