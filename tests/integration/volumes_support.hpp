// What the volume tests through the daemon share: a daemon whose volumes live on a btrfs on loop
// devices, and the detach of what a failing test left attached.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/daemon.hpp"

namespace mos::test {

// A daemon whose volumes live on fs (<mnt>/volumes), its run dir (the stable links) beside it.
// `tweak` changes further options (e.g. --volumes-limit-mode).
inline std::unique_ptr<SandboxedDaemon> volume_daemon(const btrfsmgmt::BtrfsOnLoops& fs,
                                                      const std::function<void(rpc::DaemonOptions&)>& tweak = {}) {
  return std::make_unique<SandboxedDaemon>("/dev/loop*", [&](rpc::DaemonOptions& o) {
    o.volumes_dir = fs.mnt() + "/volumes";
    o.run_dir = fs.dir() / "run";
    if (tweak) tweak(o);
  });
}

// Detaches, when the test ends however it ends, every loop device backed by a file under `under`.
struct DetachLoopsUnder {
  std::string under;
  ~DetachLoopsUnder() {
    for (const auto& line : btrfsmgmt::lines_of(run_tool({"losetup", "-a"}).out))
      if (line.find(under) != std::string::npos) run_tool({"losetup", "-d", line.substr(0, line.find(':'))});
  }
};

}  // namespace mos::test
