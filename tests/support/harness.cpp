#include "tests/support/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "base/error.hpp"

namespace mos::test {

bool have_root_and_loop() { return geteuid() == 0 && access("/dev/loop-control", R_OK | W_OK) == 0; }

TempDir::TempDir() {
  char tmpl[] = "/var/tmp/mos-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

LoopImage::LoopImage(uint64_t size_bytes, uint32_t sector_size, bool direct_io)
    : size_(size_bytes), sector_size_(sector_size), direct_io_(direct_io) {
  char tmpl[] = "/var/tmp/mos-img-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  file_ = tmpl;
  if (ftruncate(fd, static_cast<off_t>(size_bytes)) < 0) {
    close(fd);
    unlink(file_.c_str());
    throw std::runtime_error("ftruncate failed: " + std::string(strerror(errno)));
  }
  close(fd);
  try {
    loop_ = mos::test::LoopDevice::attach(file_, mos::test::LoopOptions{sector_size, direct_io, false, false});
  } catch (...) {
    unlink(file_.c_str());
    throw;
  }
}

LoopImage::~LoopImage() {
  try { loop_.detach(); } catch (...) {}
  unlink(file_.c_str());
}

void LoopImage::reattach() {
  loop_.detach();
  loop_ = mos::test::LoopDevice::attach(file_, mos::test::LoopOptions{sector_size_, direct_io_, false, false});
}

bool mounted_from(const std::string& dev) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.find(" " + dev + " ") != std::string::npos) return true;
  return false;
}

MountGuard::~MountGuard() {
  if (target_.empty()) return;
  if (umount2(target_.c_str(), 0) != 0) umount2(target_.c_str(), MNT_DETACH);
}

namespace {
std::string read_all(int fd) {
  std::string s;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
  }
  return s;
}
}  // namespace

ToolResult run_tool(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    dprintf(2, "exec %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin and drain both outputs without deadlocking on full pipes.
  size_t fed = 0;
  if (stdin_data.empty()) { close(in[1]); in[1] = -1; }
  std::string o, e;
  bool out_open = true, err_open = true;
  while (out_open || err_open || in[1] >= 0) {
    pollfd p[3];
    int n = 0;
    int io = -1, ie = -1, ii = -1;
    if (out_open) { p[n] = {out[0], POLLIN, 0}; io = n++; }
    if (err_open) { p[n] = {err[0], POLLIN, 0}; ie = n++; }
    if (in[1] >= 0) { p[n] = {in[1], POLLOUT, 0}; ii = n++; }
    if (poll(p, static_cast<nfds_t>(n), -1) < 0) { if (errno == EINTR) continue; break; }
    char buf[65536];
    if (io >= 0 && p[io].revents) {
      ssize_t r = read(out[0], buf, sizeof buf);
      if (r <= 0) out_open = false; else o.append(buf, static_cast<size_t>(r));
    }
    if (ie >= 0 && p[ie].revents) {
      ssize_t r = read(err[0], buf, sizeof buf);
      if (r <= 0) err_open = false; else e.append(buf, static_cast<size_t>(r));
    }
    if (ii >= 0 && p[ii].revents) {
      ssize_t w = write(in[1], stdin_data.data() + fed, stdin_data.size() - fed);
      if (w > 0) fed += static_cast<size_t>(w);
      if (w < 0 || fed == stdin_data.size()) { close(in[1]); in[1] = -1; }
    }
  }
  close(out[0]);
  close(err[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ToolResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = std::move(o);
  r.err = std::move(e);
  return r;
}

ToolResult run_sh(const std::string& script) { return run_tool({"/bin/sh", "-c", script}); }

ToolResult run_btrfs_check(const std::vector<std::string>& argv) {
  ToolResult r;
  for (int attempt = 0; attempt < 10; ++attempt) {
    r = run_tool(argv);
    if (r.err.find("Device or resource busy") == std::string::npos) break;
    usleep(200 * 1000);
  }
  return r;
}

ToolResult write_random(const std::string& path, uint64_t bytes, bool sync_after) {
  return run_sh("head -c " + std::to_string(bytes) + " /dev/urandom > " + path + (sync_after ? " && sync" : ""));
}

std::string sha256_of(const std::string& path) {
  ToolResult r = run_tool({"sha256sum", path});
  EXPECT_TRUE(r.ok()) << r.err;
  return r.out.substr(0, 64);
}

std::map<std::string, std::string> blkid_probe(const std::string& dev, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"blkid", "-p", "-o", "export"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(dev);
  ToolResult r = run_tool(argv);
  std::map<std::string, std::string> kv;
  std::istringstream s(r.out);
  std::string line;
  while (std::getline(s, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

void install_exec_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0) ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0) || seccomp_load(ctx))
    throw std::runtime_error("seccomp setup failed");
  seccomp_release(ctx);
}

SandboxedChild::SandboxedChild(const std::function<int()>& fn) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    int rc = 3;
    try {
      install_exec_filter();
      rc = fn();
    } catch (const std::exception& e) {
      dprintf(2, "sandboxed child: %s\n", e.what());
      rc = 4;
    }
    _exit(rc);
  }
}

SandboxedChild::~SandboxedChild() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int SandboxedChild::stop(int sig) {
  if (pid_ <= 0) return -1;
  kill(pid_, sig);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool wait_for_path(const std::string& path, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (access(path.c_str(), F_OK) == 0) return true;
    usleep(10000);
  }
  return false;
}

SandboxResult run_sandboxed(const std::function<std::string()>& fn) {
  int p[2];
  if (pipe2(p, O_CLOEXEC)) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    close(p[0]);
    try {
      install_exec_filter();
    } catch (const std::exception&) {
      dprintf(p[1], "E%s", "seccomp setup failed");
      _exit(3);
    }
    std::string out;
    char tag = 'O';
    try {
      out = fn();
    } catch (const std::exception& e) {
      tag = 'E';
      out = e.what();
    }
    std::string msg = std::string(1, tag) + out;
    size_t done = 0;
    while (done < msg.size()) {
      ssize_t w = write(p[1], msg.data() + done, msg.size() - done);
      if (w <= 0) break;
      done += static_cast<size_t>(w);
    }
    _exit(0);
  }
  close(p[1]);
  std::string msg = read_all(p[0]);
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  SandboxResult r;
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (!msg.empty()) {
    r.ok = msg[0] == 'O';
    r.text = msg.substr(1);
  }
  return r;
}

}  // namespace mos::test
