#include "rpc/listen_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"
#include "rpc/auth.hpp"

namespace mos::rpc {
namespace {

// systemd socket activation (sd_listen_fds(3) protocol): the first passed fd, when meant for us.
int activated_socket() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (!pid || !fds || std::strtol(pid, nullptr, 10) != getpid() || std::strtol(fds, nullptr, 10) < 1) return -1;
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  constexpr int kFirst = 3;
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  socklen_t len2 = sizeof listening;
  if (getsockopt(kFirst, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
      getsockopt(kFirst, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len2) != 0 || !listening)
    throw Error(ErrorCode::validation, "LISTEN_FDS was set but fd 3 is not a listening stream socket (check the .socket unit)");
  fcntl(kFirst, F_SETFD, FD_CLOEXEC);
  fcntl(kFirst, F_SETFL, fcntl(kFirst, F_GETFL) | O_NONBLOCK);
  return kFirst;
}

// The socket's directory: created 0755, or an existing one owned by us and not writable by
// group/others (anyone who can write there could swap the socket for their own).
void trusted_directory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) == 0) {
    if (chmod(dir.c_str(), 0755) != 0) throw_sys("chmod", dir, errno);
  } else if (errno != EEXIST) {
    throw_sys("mkdir", dir, errno);
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) throw_sys("lstat", dir, errno);
  if (!S_ISDIR(st.st_mode))
    throw Error(ErrorCode::validation, "socket directory " + dir + " is not a directory (a symlink?); refusing to use it",
                dir);
  if (st.st_uid != geteuid())
    throw Error(ErrorCode::validation, "socket directory " + dir + " is owned by uid " + std::to_string(st.st_uid) +
                                           ", not by the daemon; refusing to create the socket there (remove it or chown it)",
                dir);
  if (st.st_mode & 022)
    throw Error(ErrorCode::validation, "socket directory " + dir + " is writable by group or others (mode " +
                                           [&] { char b[8]; std::snprintf(b, sizeof b, "%04o", st.st_mode & 07777); return std::string(b); }() +
                                           "); refusing to create the socket there (chmod 0755 it)",
                dir);
}

}  // namespace

ListenSocket open_listen_socket(const std::string& path, unsigned mode, const std::string& group) {
  if (int fd = activated_socket(); fd >= 0) return {fd, true};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    throw Error(ErrorCode::validation, "socket path empty or too long: " + path, path);
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  std::filesystem::path p(path);
  trusted_directory(p.has_parent_path() ? p.parent_path().string() : ".");
  gid_t gid = group.empty() ? static_cast<gid_t>(-1) : group_id(group);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error(ErrorCode::validation, path + " exists and is not a socket; refusing to replace it", path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) throw Error(ErrorCode::storage_failed, "another daemon is already listening on " + path, path);
    unlink(path.c_str());  // stale socket from a previous run
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw_sys("socket", path, errno);
  // Bound owner-only: nobody can connect before the final mode and group are in place.
  mode_t old = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  umask(old);
  auto fail = [&](const char* what, int e) {
    close(fd);
    throw_sys(what, path, e);
  };
  if (rc < 0) fail("bind", err);
  if (gid != static_cast<gid_t>(-1) && chown(path.c_str(), static_cast<uid_t>(-1), gid) < 0) fail("chown", errno);
  if (chmod(path.c_str(), mode) < 0) fail("chmod", errno);
  if (listen(fd, 512) < 0) fail("listen", errno);
  return {fd, false};
}

}  // namespace mos::rpc
