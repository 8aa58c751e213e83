// sysvol: mos_sysvol's first boot on one empty 16 GiB disk (GPT + FAT32 + ext4 + swap + btrfs,
// 5 subvolumes, their mounts, /boot, swapon) by engine::sysvol::run in-process, against the same
// layout made by the shell tools (sgdisk, partx, mkfs.vfat, mkfs.ext4, mkswap, mkfs.btrfs,
// btrfs subvolume create, mount, swapon) in the same run. The ESP mount is off on both sides
// (hosts without vfat). Everything runs in a private mount namespace; cleanup is untimed.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/swap.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bench/bench.hpp"
#include "engine/apply_plan.hpp"
#include "engine/disk_access.hpp"
#include "engine/sysvol_run.hpp"
#include "ioctl/blkpg.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/mountinfo.hpp"

namespace mos::bench {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
const char* kSubvols[] = {"system", "etc", "modules", "vm-meta", "mos-bin"};

std::string root_dir(const Config& cfg) { return cfg.workdir + "/mos-bench-sysvol-" + std::to_string(::getpid()); }

// Once per process: our mounts and the tools' stay out of the host's namespace.
void private_namespace() {
  static bool done = [] {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::runtime_error("sysvol bench: cannot make a private mount namespace");
    return true;
  }();
  (void)done;
}

std::string part(const Target& t, int n) { return t.dev() + "p" + std::to_string(n); }

// Untimed: unmount what either side mounted under root, swap off, empty disk again.
void reset(Target& t, const std::string& root) {
  ::swapoff(part(t, 4).c_str());
  std::vector<std::string> targets;
  for (const auto& m : io::read_mountinfo("/proc/self/mountinfo"))
    if (m.mount_point.rfind(root + "/", 0) == 0) targets.push_back(m.mount_point);
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);  // nothing is mounted below it any more
  // Empty disk again: no table at either end, no kernel partitions.
  io::Fd disk = io::Fd::open(t.dev(), O_RDWR);
  for (uint64_t off : {uint64_t{0}, t.size() - kMiB}) engine::zero_range_simple(disk, off, kMiB);
  disk.fsync();
  for (const auto& p : engine::kernel_partitions(t.dev().substr(5))) io::blkpg_delete_partition(disk, static_cast<int>(p.number));
}

}  // namespace

void add_sysvol_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  Scenario s;
  s.name = "sysvol";
  s.description = "mos_sysvol first boot, single 16 GiB disk: GPT, FAT32, ext4, swap, btrfs, 5 subvolumes, mounts, swapon";
  s.target = TargetSpec{16384 * kMiB, 512, false, false, false};
  const std::string root = root_dir(cfg);
  const std::string config = root + "/mos_sysvol.toml";

  Contender ours;
  ours.name = "ours (engine::sysvol::run)";
  ours.prepare = [root, config](Target& t) {
    private_namespace();
    reset(t, root);
    std::filesystem::create_directories(root);
    std::ofstream(config) << "[mount]\nefi = \"off\"\n";
  };
  ours.run = [root, config](Target& t) -> std::optional<double> {
    engine::sysvol::RunOptions opts;
    opts.config_path = config;
    opts.cmdline_path = "/nonexistent";
    opts.root = root;
    opts.policy = engine::Policy::from_globs(t.dev() + "," + t.dev() + "p*");
    opts.load_modules = false;
    auto r = engine::sysvol::run(opts, [](int, const std::string&) {});
    if (!r.ready) throw std::runtime_error("mos_sysvol run not ready: " + (r.errors.empty() ? "" : r.errors.front()));
    return std::nullopt;
  };
  ours.cleanup = [root](Target& t) { reset(t, root); };
  s.ours.push_back(std::move(ours));

  Contender tools;
  tools.name = "shell tools (sgdisk, partx, mkfs.*, btrfs, mount, swapon)";
  for (const char* tool : {"sgdisk", "partx", "mkfs.vfat", "mkfs.ext4", "mkswap", "mkfs.btrfs", "btrfs", "mount", "swapon"})
    if (!have_tool(tool)) tools.unavailable = std::string(tool) + " not installed";
  tools.prepare = [root](Target& t) {
    private_namespace();
    reset(t, root);
    for (const char* sv : kSubvols) std::filesystem::create_directories(root + "/var/cache/" + sv);
    std::filesystem::create_directories(root + "/boot");
    std::filesystem::create_directories(root + "/top");
  };
  tools.run = [root](Target& t) -> std::optional<double> {
    // mos_sysvol's default sizes for 16 GiB: swap = 16/8 = 2 GiB, data = the rest.
    run_peer({"sgdisk", "-o", "-n", "1:0:+1M", "-c", "1:mosbios", "-t", "1:EF02", "-n", "2:0:+100M", "-c", "2:mosefi",
              "-t", "2:EF00", "-n", "3:0:+1024M", "-c", "3:mosboot", "-t", "3:8300", "-n", "4:0:+2048M", "-c",
              "4:mosswap", "-t", "4:8200", "-n", "5:0:0", "-c", "5:mosdata", "-t", "5:8300", t.dev()});
    run_peer({"partx", "-u", t.dev()});
    run_peer({"mkfs.vfat", "-F", "32", "-n", "MOSEFI", part(t, 2)});
    run_peer({"mkfs.ext4", "-q", "-F", "-L", "MOSBOOT", part(t, 3)});
    run_peer({"mkswap", "-L", "MOSSWAP", part(t, 4)});
    run_peer({"mkfs.btrfs", "-q", "-f", "-L", "MOSDATA", part(t, 5)});
    run_peer({"mount", part(t, 5), root + "/top"});
    for (const char* sv : kSubvols) run_peer({"btrfs", "subvolume", "create", root + "/top/" + sv});
    run_peer({"umount", root + "/top"});
    for (const char* sv : kSubvols)
      run_peer({"mount", "-o", std::string("subvol=") + sv + ",noatime,compress=zstd", part(t, 5), root + "/var/cache/" + sv});
    run_peer({"mount", "-o", "nosuid,nodev", part(t, 3), root + "/boot"});
    run_peer({"swapon", part(t, 4)});
    return std::nullopt;
  };
  tools.cleanup = [root](Target& t) { reset(t, root); };
  s.peers.push_back(std::move(tools));
  out.push_back(std::move(s));
}

}  // namespace mos::bench
