// cli-*: whole processes against whole processes. `mos-volmgr disks`
// (goal <= 3 ms; lsblk for information) and `mos-volmgr create-filesystem --force` through a
// running mos_volmgrd against the matching mkfs tool (goal >= 2x each), on a loop device the
// bench creates. The daemon is started once per target, allowed exactly that device; its start
// is not timed (a daemon is running on a node), every CLI process is.
#include <memory>

#include "bench/bench.hpp"
#include "bench/rpc_load.hpp"

namespace mos::bench {
namespace {

// One daemon for the scenario in progress, restarted when the target device changes.
struct SharedDaemon {
  std::string dir, dev;
  std::unique_ptr<DaemonProcess> process;
  ~SharedDaemon() {
    process.reset();
    if (!dir.empty()) run_peer({"rm", "-rf", dir});
  }
  std::string socket(const Target& t) {
    if (dir.empty()) {
      char tmpl[] = "/var/tmp/mos-bench-cli-XXXXXX";
      if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
      dir = tmpl;
    }
    if (!process || dev != t.dev()) {
      process.reset();
      dev = t.dev();
      process = std::make_unique<DaemonProcess>(dir, dev);
    }
    return process->socket();
  }
};

Contender ours_cli(std::string name, std::shared_ptr<SharedDaemon> daemon,
                   std::function<std::vector<std::string>(const Target&)> args) {
  Contender c;
  c.name = std::move(name);
  auto socket = std::make_shared<std::string>();
  c.prepare = [daemon, socket](Target& t) { *socket = daemon->socket(t); };  // untimed: the daemon runs already
  c.run = [socket, args](Target& t) -> std::optional<double> {
    std::vector<std::string> argv{own_bin_dir() + "/mos-volmgr", "--socket", *socket};
    for (auto& a : args(t)) argv.push_back(a);
    run_peer(argv);
    return std::nullopt;
  };
  return c;
}

Scenario cli_mkfs(const std::string& fstype, TargetSpec target, std::shared_ptr<SharedDaemon> daemon,
                  std::string peer_name, std::string tool, std::vector<std::string> peer_args) {
  Scenario s;
  s.name = "cli-" + fstype;
  s.description = "`mos-volmgr create-filesystem --fstype " + fstype + " --force` (whole process, daemon running) vs " +
                  peer_name + " (whole process)";
  s.target = target;
  s.ours.push_back(ours_cli("mos-volmgr create-filesystem", daemon, [fstype](const Target& t) {
    return std::vector<std::string>{"create-filesystem", "--device", t.dev(), "--fstype", fstype, "--label", "",
                                    "--force"};
  }));
  s.peers.push_back(peer(peer_name, tool, [peer_args](const Target& t) {
    auto a = peer_args;
    a.push_back(t.dev());
    return a;
  }));
  return s;
}

}  // namespace

void add_cli_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  auto daemon = std::make_shared<SharedDaemon>();
  Scenario d;
  d.name = "cli-disks";
  d.description = "`mos-volmgr disks` whole process against a running daemon (goal <= 3 ms); lsblk for information";
  d.target = TargetSpec{16ull << 20, 512, false, false, false};
  d.ours.push_back(ours_cli("mos-volmgr disks", daemon, [](const Target&) { return std::vector<std::string>{"disks"}; }));
  d.peers.push_back(peer("lsblk", "lsblk", [](const Target&) { return std::vector<std::string>{}; }));
  out.push_back(std::move(d));

  const TargetSpec device{cfg.size, 512, true, true, false};
  // ext4 at the 32 GiB (sparse): at 1 GiB both sides are start-up cost.
  out.push_back(cli_mkfs("ext4", TargetSpec{32ull << 30, 512, true, false, false}, daemon, "mkfs.ext4 lazy",
                         "mkfs.ext4", {"-F", "-q", "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard"}));
  out.push_back(cli_mkfs("btrfs", device, daemon, "mkfs.btrfs -f -K", "mkfs.btrfs", {"-f", "-q", "-K"}));
  out.push_back(cli_mkfs("vfat", device, daemon, "mkfs.vfat -I -F 32", "mkfs.vfat", {"-I", "-F", "32"}));
  out.push_back(cli_mkfs("swap", device, daemon, "mkswap -f", "mkswap", {"-f"}));
}

}  // namespace mos::bench
