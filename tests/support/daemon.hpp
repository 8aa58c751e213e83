// The real daemon (rpc::run_daemon, full method registry) in a sandboxed child (execve denied)
// on a private socket, run and state directory, with a device policy; killed at scope end.
#pragma once
#include <unistd.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/error.hpp"
#include "rpc/client.hpp"
#include "rpc/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

// {code, message} of a failing call through c; {0, "succeeded"} if it succeeded.
inline std::pair<int, std::string> rpc_error(rpc::Client& c, const std::string& method, const nlohmann::json& params) {
  try {
    c.call(method, params);
  } catch (const Error& e) {
    return {static_cast<int>(e.code()), e.what()};
  }
  return {0, "succeeded"};
}

// Moves the daemon's host directories into dir: its run dir and its state dir (a host's
// /var/lib/mos_volmgrd holds earlier runs' jobs, which a test must neither read nor add to).
inline void use_private_dirs(rpc::DaemonOptions& o, const std::string& dir) {
  o.run_dir = dir + "/run";
  o.state_dir = dir + "/state";
}

class SandboxedDaemon {
 public:
  // tweak adjusts the options (job limits, a state directory shared across restarts).
  explicit SandboxedDaemon(const std::string& allow_devices = "/dev/loop*",
                           const std::function<void(rpc::DaemonOptions&)>& tweak = {})
      : socket_(dir_ / "volmgrd.sock") {
    rpc::DaemonOptions opts;
    opts.socket_path = socket_;
    opts.allow_devices = allow_devices;
    use_private_dirs(opts, dir_.path());
    opts.mount_prefixes = {"/var/tmp", "/mnt", "/run"};  // TempDir's home, and the refusal tests'
    if (tweak) tweak(opts);
    child_ = std::make_unique<SandboxedChild>([opts] {
      rpc::run_daemon(opts);
      return 0;
    });
    ready_ = wait_for_path(socket_);
    // Bound is not yet listening: retry a connection briefly.
    for (int i = 0; ready_ && i < 500; ++i) {
      try {
        rpc::Client probe(socket_);
        return;
      } catch (const std::exception&) {
        usleep(10000);
      }
    }
    ready_ = false;
    ADD_FAILURE() << "daemon did not listen on " << socket_;
  }

  const std::string& socket() const { return socket_; }
  bool ready() const { return ready_; }
  int pid() const { return child_->pid(); }
  const std::string& dir() const { return dir_.path(); }
  // Sends sig and waits; the daemon's exit code (0 after a clean SIGTERM shutdown).
  int stop(int sig) { return child_->stop(sig); }

  // The mos-volmgr CLI against this daemon.
  ToolResult cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {std::string(MOS_BIN_DIR) + "/mos-volmgr", "--socket", socket_});
    return run_tool(args);
  }
  // The CLI with --json, parsed; null (and a test failure) when it fails.
  nlohmann::json cli_json(std::vector<std::string> args) const {
    args.push_back("--json");
    auto r = cli(args);
    EXPECT_TRUE(r.ok()) << r.err;
    return r.ok() ? nlohmann::json::parse(r.out) : nlohmann::json(nullptr);
  }
  // One raw JSON-RPC request through socat; the parsed response.
  nlohmann::json rpc_raw(const nlohmann::json& request) const {
    auto r = run_tool({"socat", "-t", "30", "-", "UNIX-CONNECT:" + socket_}, request.dump() + "\n");
    EXPECT_TRUE(r.ok()) << r.err;
    return nlohmann::json::parse(r.out);
  }

 private:
  TempDir dir_;
  std::string socket_;
  std::unique_ptr<SandboxedChild> child_;
  bool ready_ = false;
};

}  // namespace mos::test
