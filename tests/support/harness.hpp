// Test support: sparse images on loop devices we attach ourselves (always detached), oracle
// tools run as child processes, and a seccomp sandbox that makes execve fail for engine code.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/loop.hpp"

namespace mos::test {

bool have_root_and_loop();
#define MOS_REQUIRE_ROOT()                                                        \
  do {                                                                            \
    if (!::mos::test::have_root_and_loop()) GTEST_SKIP() << "needs root and /dev/loop-control"; \
  } while (0)

// A temporary directory removed (recursively) with its contents at the end of scope.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A sparse image file attached to a loop device; detached and deleted in every outcome.
class LoopImage {
 public:
  explicit LoopImage(uint64_t size_bytes, uint32_t sector_size = 0, bool direct_io = false);
  ~LoopImage();
  LoopImage(const LoopImage&) = delete;
  LoopImage& operator=(const LoopImage&) = delete;
  const std::string& dev() const { return loop_.path(); }
  const std::string& file() const { return file_; }
  uint64_t size() const { return size_; }
  // Detach and re-attach the same file (e.g. to drop kernel caches or partitions).
  void reattach();

 private:
  std::string file_;
  uint64_t size_;
  uint32_t sector_size_;
  bool direct_io_;
  mos::test::LoopDevice loop_;
};

// Whether /proc/self/mountinfo shows a mount whose source is the device node `dev`.
bool mounted_from(const std::string& dev);

// Unmounts (lazily if busy) at end of scope.
class MountGuard {
 public:
  explicit MountGuard(std::string target) : target_(std::move(target)) {}
  ~MountGuard();
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  void release() { target_.clear(); }

 private:
  std::string target_;
};

struct ToolResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0; }
};
// Runs an external oracle tool (tests only; product code never does this).
ToolResult run_tool(const std::vector<std::string>& argv, const std::string& stdin_data = {});
// Convenience: `sh -c` for pipelines in tests.
ToolResult run_sh(const std::string& script);
// `btrfs check ...`, run again while it meets EBUSY: the kernel claims a btrfs device exclusively
// for the instant it reads its superblock during any scan (BTRFS_IOC_SCAN_DEV), and a test beside
// this one running btrfs check or mkfs.btrfs scans every device.
ToolResult run_btrfs_check(const std::vector<std::string>& argv);
// Writes `bytes` random bytes (head -c of /dev/urandom) over the start of path, a device or a
// new file; sync_after runs sync(1) too so the data is on disk for what follows.
ToolResult write_random(const std::string& path, uint64_t bytes, bool sync_after = false);
// sha256sum's hex digest of a device or file (a test failure if sha256sum fails).
std::string sha256_of(const std::string& path);
// `blkid -p -o export DEV` parsed into KEY=VALUE pairs (empty map if blkid finds nothing).
std::map<std::string, std::string> blkid_probe(const std::string& dev, const std::vector<std::string>& extra = {});

// Runs fn in a forked child under a seccomp filter that makes execve/execveat fail with EPERM.
// Returns fn's string result; an exception in the child becomes {ok=false, text=message}.
struct SandboxResult {
  bool ok = false;
  std::string text;
  int signal = 0;  // non-zero if the child died from a signal (e.g. SIGABRT crash points)
};
SandboxResult run_sandboxed(const std::function<std::string()>& fn);

// A forked child running fn() under the same seccomp filter, in the background (e.g. the RPC
// server). The destructor sends SIGKILL if it still runs.
class SandboxedChild {
 public:
  explicit SandboxedChild(const std::function<int()>& fn);
  ~SandboxedChild();
  SandboxedChild(const SandboxedChild&) = delete;
  SandboxedChild& operator=(const SandboxedChild&) = delete;
  int pid() const { return pid_; }
  // Sends sig and waits; returns the exit code (128+signal if killed by a signal).
  int stop(int sig);

 private:
  int pid_ = -1;
};

// Installs the execve/execveat-denying seccomp filter in the calling process.
void install_exec_filter();
// Polls until path exists (a socket being bound); false on timeout.
bool wait_for_path(const std::string& path, int timeout_ms = 5000);

}  // namespace mos::test
