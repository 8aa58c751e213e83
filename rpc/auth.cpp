#include "rpc/auth.hpp"

#include <grp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include "base/error.hpp"

namespace mos::rpc {

gid_t group_id(const std::string& name) {
  char* end = nullptr;
  unsigned long n = std::strtoul(name.c_str(), &end, 10);
  if (!name.empty() && end && *end == '\0') return static_cast<gid_t>(n);
  std::vector<char> buf(16384);
  group g{};
  group* found = nullptr;
  int rc = getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
  if (rc != 0 || !found)
    throw Error(ErrorCode::validation, "unknown group '" + name + "' (create it or give a numeric gid)", name);
  return found->gr_gid;
}

namespace {

// Supplementary groups of the peer at connect time (Linux >= 4.13); empty when unavailable.
std::vector<gid_t> peer_groups(int fd) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return groups;
    }
    if (errno != ERANGE || len / sizeof(gid_t) > 65536) break;
    groups.resize(len / sizeof(gid_t));
  }
  return {};
}

}  // namespace

Caller peer_caller(int fd, std::optional<gid_t> admin_gid) {
  Caller c;
  c.remote = true;
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    c.admin = false;  // unknown peer: read-only
    c.uid = static_cast<uid_t>(-1);
    return c;
  }
  c.pid = cred.pid;
  c.uid = cred.uid;
  c.gid = cred.gid;
  c.admin = cred.uid == 0;
  if (!c.admin && admin_gid) {
    c.admin = cred.gid == *admin_gid;
    for (gid_t g : peer_groups(fd)) c.admin = c.admin || g == *admin_gid;
  }
  return c;
}

}  // namespace mos::rpc
