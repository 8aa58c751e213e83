// sysvol-firstboot: mos_sysvol's single-disk first boot (GPT + FAT32 + ext4 + swap + btrfs + 5
// subvolumes + mounts + swapon) through engine::sysvol::run, the entry point mos_sysvol calls,
// against the same layout made by the shell tools in one script (sgdisk, partx -a, mkfs.vfat,
// mkfs.ext4, mkswap, mkfs.btrfs, mount, btrfs subvolume create x5, mounts, swapon).
// Both sides get identical work: no discards on either side (our
// writers never discard), every byte of the disk a hole again between runs, the layout the peer
// makes taken from mos_sysvol's own plan, and ours must report a fresh, ready boot.
// Both sides mount below a temp root in a private mount namespace (nothing on the host is
// shadowed), with the ESP mount off (no vfat in the host kernel). Between repetitions, untimed:
// unmount, swapoff, drop the partitions and punch the whole backing file (a blank disk again).
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bench/bench.hpp"
#include "engine/disk_access.hpp"
#include "engine/sysvol/layout.hpp"
#include "engine/sysvol/run.hpp"
#include "ioctl/blkpg.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/mount.hpp"
#include "ioctl/swap_control.hpp"

namespace mos::bench {

namespace {

namespace sv = engine::sysvol;

constexpr uint64_t kDiskBytes = 16ull << 30;

// Mount points at or below root in this namespace (octal escapes of mountinfo left as they are:
// the root is ours and has no spaces).
std::vector<std::string> mounts_below(const std::string& root) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, fsroot, mp;
    f >> id >> parent >> devno >> fsroot >> mp;
    if (mp == root || mp.rfind(root + "/", 0) == 0) out.push_back(mp);
  }
  return out;
}

std::string part(const Target& t, int n) { return t.dev() + "p" + std::to_string(n); }

// A fresh root prefix (config, cmdline, mount points) per repetition.
struct Root {
  std::string dir;
  std::string config() const { return dir + "/mos_sysvol.toml"; }
  std::string cmdline() const { return dir + "/cmdline"; }
  std::string prefix() const { return dir + "/root"; }
};

Root make_root(const std::string& workdir) {
  std::string tmpl = workdir + "/mos-bench-sysvol-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw_sys("mkdtemp", tmpl, errno);
  Root r{tmpl};
  std::ofstream(r.config()) << "[mount]\nefi = \"off\"\n";  // the host kernel has no vfat
  std::ofstream(r.cmdline()) << "ro quiet\n";
  std::filesystem::create_directories(r.prefix());
  return r;
}

// Untimed, after either side: nothing mounted, swap off, no partitions, every byte a hole.
void blank_again(Target& t, const Root& r) {
  auto mps = mounts_below(r.dir);
  for (auto it = mps.rbegin(); it != mps.rend(); ++it) {
    try {
      io::unmount(*it, false);
    } catch (const Error&) {
      io::unmount(*it, true);
    }
  }
  if (!mounts_below(r.dir).empty()) throw std::runtime_error("still mounted below " + r.dir + "; left in place");
  try {
    io::swap_off(part(t, 4));
  } catch (const Error&) {  // not active: the run failed before swapon
  }
  io::Fd disk = io::Fd::open(t.dev(), O_RDWR);
  std::string name = t.dev().substr(t.dev().rfind('/') + 1);
  for (const auto& p : engine::kernel_partitions(name)) io::blkpg_delete_partition(disk, static_cast<int>(p.number));
  {
    io::Fd file = io::Fd::open(t.file(), O_RDWR);
    if (::fallocate(file.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(t.size())) != 0)
      throw_sys("fallocate punch hole", t.file(), errno);
  }
  io::blk_flush_buffers(disk);
  std::filesystem::remove_all(r.dir);
}

// The host script: the shared command list, one line each, stopping at the first failure.
std::string peer_script(const Target& t, const Root& r) {
  std::string s = "set -e\n";
  for (const auto& argv : tools_firstboot_commands(t.dev(), t.dev() + "p", t.size(), r.prefix(), false, true)) {
    for (const auto& a : argv) s += a + " ";
    s += "\n";
  }
  return s;
}

// Both contenders share one root per repetition, made in prepare and removed in cleanup.
struct Shared {
  std::string workdir;
  std::optional<Root> root;
};

// `also` (may be empty) finishes the untimed preparation once the root exists.
Contender with_root(Contender c, std::shared_ptr<Shared> sh, std::function<void(Target&)> also = {}) {
  c.prepare = [sh, also](Target& t) {
    enter_private_mount_namespace();
    sh->root = make_root(sh->workdir);
    if (also) also(t);
  };
  c.cleanup = [sh](Target& t) {
    if (!sh->root) return;
    Root r = *sh->root;
    sh->root.reset();
    blank_again(t, r);
  };
  return c;
}

}  // namespace

void enter_private_mount_namespace() {
  static bool done = false;
  if (done) return;
  if (::unshare(CLONE_NEWNS) != 0) throw_sys("unshare(CLONE_NEWNS)", "bench", errno);
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) throw_sys("mount --make-rprivate", "/", errno);
  done = true;
}

namespace {

using Commands = std::vector<std::vector<std::string>>;

std::vector<std::string> sgdisk_layout(const std::string& disk, uint64_t disk_bytes) {
  const auto layout = sv::plan_layout(disk, disk_bytes, 512, sv::default_config());
  std::vector<std::string> sgdisk = {"sgdisk", "-o"};
  int n = 1;
  for (const auto& p : layout.partitions) {
    std::string code = p.part_type == "bios_boot" ? "EF02" : p.part_type == "esp" ? "EF00"
                       : p.part_type == "swap"    ? "8200" : "8300";
    std::string num = std::to_string(n++);
    sgdisk.insert(sgdisk.end(), {"-n", num + ":0:" + (p.size_bytes ? "+" + std::to_string(*p.size_bytes >> 20) + "M" : "0"),
                                 "-c", num + ":" + p.name, "-t", num + ":" + code});
  }
  sgdisk.push_back(disk);
  return sgdisk;
}

// Filesystems made: subvolumes on the data btrfs, the mounts mos_sysvol makes, swapon.
void subvolumes_mounts_swapon(Commands& c, const std::string& data, const std::string& boot,
                              const std::optional<std::string>& efi, const std::vector<std::string>& swaps,
                              const std::string& root) {
  const auto cfg = sv::default_config();
  const std::string top = root + "/run/top";
  c.push_back({"mkdir", "-p", top});
  c.push_back({"mount", "-t", "btrfs", "-o", "nosuid,nodev,noexec,subvolid=5", data, top});
  for (const auto& v : cfg.subvolumes) c.push_back({"btrfs", "subvolume", "create", top + "/" + v.name});
  c.push_back({"umount", top});
  for (const auto& v : cfg.subvolumes) {
    c.push_back({"mkdir", "-p", root + v.mount_point});
    c.push_back({"mount", "-t", "btrfs", "-o", "subvol=" + v.name + "," + cfg.btrfs_options, data, root + v.mount_point});
  }
  c.push_back({"mkdir", "-p", root + cfg.boot_mount});
  c.push_back({"mount", "-t", "ext4", "-o", "nosuid,nodev", boot, root + cfg.boot_mount});
  if (efi) {
    c.push_back({"mkdir", "-p", root + cfg.efi_mount});
    c.push_back({"mount", "-t", "vfat", "-o", "nosuid,nodev,noexec", *efi, root + cfg.efi_mount});
  }
  for (const auto& s : swaps) c.push_back({"swapon", s});
}

const std::vector<std::string> kExt4 = {"mkfs.ext4", "-F", "-q", "-L", "MOSBOOT", "-E",
                                        "lazy_itable_init=1,lazy_journal_init=1,nodiscard"};

}  // namespace

Commands tools_firstboot_commands(const std::string& disk, const std::string& part_prefix, uint64_t disk_bytes,
                                  const std::string& root, bool esp, bool partx) {
  auto part = [&](int n) { return part_prefix + std::to_string(n); };
  Commands c = {sgdisk_layout(disk, disk_bytes)};
  if (partx) c.push_back({"partx", "-a", disk});
  c.push_back({"mkfs.vfat", "-F", "32", "-n", "MOSEFI", part(2)});
  c.push_back(kExt4);
  c.back().push_back(part(3));
  c.push_back({"mkswap", "-L", "MOSSWAP", part(4)});
  c.push_back({"mkfs.btrfs", "-f", "-K", "-L", "MOSDATA", part(5)});
  subvolumes_mounts_swapon(c, part(5), part(3), esp ? std::optional<std::string>(part(2)) : std::nullopt, {part(4)}, root);
  return c;
}

Commands tools_dual_firstboot_commands(const std::string& disk_a, const std::string& disk_b, uint64_t disk_bytes,
                                       const std::string& root) {
  auto a = [&](int n) { return disk_a + std::to_string(n); };
  auto b = [&](int n) { return disk_b + std::to_string(n); };
  Commands c = {sgdisk_layout(disk_a, disk_bytes), sgdisk_layout(disk_b, disk_bytes)};
  const std::vector<std::string> md = {"mdadm", "--create", "", "--run", "--level=1", "--raid-devices=2"};
  c.push_back(md);
  c.back()[2] = "/dev/md126";
  c.back().insert(c.back().end(), {"--metadata=0.90", a(2), b(2)});
  c.push_back({"mkfs.vfat", "-F", "32", "-n", "MOSEFI", "/dev/md126"});
  c.push_back(md);
  c.back()[2] = "/dev/md127";
  c.back().insert(c.back().end(), {"--metadata=1.2", a(3), b(3)});
  c.push_back(kExt4);
  c.back().push_back("/dev/md127");
  c.push_back({"mkswap", "-L", "MOSSWAP", a(4)});
  c.push_back({"mkswap", "-L", "MOSSWAP", b(4)});
  c.push_back({"mkfs.btrfs", "-f", "-K", "-L", "MOSDATA", "-d", "raid1", "-m", "raid1", a(5), b(5)});
  subvolumes_mounts_swapon(c, a(5), "/dev/md127", std::string("/dev/md126"), {a(4), b(4)}, root);
  return c;
}

void add_firstboot_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  auto sh = std::make_shared<Shared>();
  sh->workdir = cfg.workdir;
  Scenario s;
  s.name = "sysvol-firstboot";
  s.description = "mos_sysvol single-disk first boot on a blank 16 GiB disk: GPT, FAT32, ext4, swap, btrfs, "
                  "5 subvolumes, mounts, swapon (loop, direct_io, sparse; ESP mount off)";
  s.target = TargetSpec{kDiskBytes, 512, true, false, false};

  Contender ours;
  ours.name = "ours (sysvol::run)";
  ours.run = [sh](Target& t) -> std::optional<double> {
    sv::RunOptions o;
    o.config_path = sh->root->config();
    o.cmdline_path = sh->root->cmdline();
    o.root = sh->root->prefix();
    o.policy = engine::Policy::from_globs(t.dev() + "," + t.dev() + "p*");  // exactly this disk
    o.load_modules = false;
    // MOS_BENCH_TRACE=1: each line of the run with the ms since the previous one (stderr), to
    // see where the time goes.
    const bool trace = std::getenv("MOS_BENCH_TRACE") != nullptr;
    auto last = std::chrono::steady_clock::now();
    sv::Report r = sv::run(o, [&](int, const std::string& line) {
      if (!trace) return;
      auto now = std::chrono::steady_clock::now();
      std::fprintf(stderr, "%8.1f ms  %s\n", std::chrono::duration<double, std::milli>(now - last).count(), line.c_str());
      last = now;
    });
    if (!r.ready || r.mode != "fresh") {
      std::string why = "mos_sysvol first boot not ready (mode " + r.mode + ")";
      for (const auto& e : r.errors) why += "; " + e;
      throw std::runtime_error(why);
    }
    return std::nullopt;
  };
  s.ours.push_back(with_root(std::move(ours), sh));

  Contender tools;
  tools.name = "tools (sgdisk..swapon)";
  for (const char* tool : {"sgdisk", "partx", "mkfs.vfat", "mkfs.ext4", "mkswap", "mkfs.btrfs", "btrfs", "swapon"})
    if (!have_tool(tool)) tools.unavailable = std::string(tool) + " not installed";
  tools.run = [sh](Target&) -> std::optional<double> {
    run_peer({"sh", sh->root->dir + "/firstboot.sh"});
    return std::nullopt;
  };
  s.peers.push_back(with_root(std::move(tools), sh, [sh](Target& t) {
    std::ofstream(sh->root->dir + "/firstboot.sh") << peer_script(t, *sh->root);
  }));
  out.push_back(std::move(s));
}

}  // namespace mos::bench
