// Volumes (issue 21): clone of a written image — ours (Store::clone: FICLONE, metadata xattr,
// fsync, rename) vs `cp --reflink=always` vs a `btrfs subvolume snapshot` of the subvolume holding
// it — and create + attach of a VM disk — ours (Store::create + attach: LOOP_CONFIGURE, direct
// I/O) vs `truncate` + `losetup --direct-io=on`. Before every run, untimed: a fresh btrfs on the
// target (mkfs.btrfs), mounted in the bench's private mount namespace, with the volumes subvolume
// and, for the clone, the image written whole (--size bytes) and fsynced; after it: detach and
// unmount.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "bench/bench.hpp"
#include "base/error.hpp"
#include "engine/volumes/attach.hpp"
#include "engine/volumes/store.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

namespace {

namespace vol = engine::volumes;

struct Bed {
  std::string mnt;  // the btrfs on the target
  std::string vols() const { return mnt + "/volumes"; }
  std::string image() const { return vols() + "/img"; }
};

engine::Context context_for(const Target& t, const Bed& b) {
  engine::Context ctx;
  ctx.policy.allow_devices = {t.dev()};
  ctx.run_dir = b.mnt + "-run";
  return ctx;
}

vol::Store open_store(const Target& t, const Bed& b) { return vol::Store::open(b.mnt, "volumes", context_for(t, b), true); }

// Every byte of path written (distinct 1 MiB blocks, so nothing is a hole or compresses), fsynced.
void write_whole(const std::string& path, uint64_t bytes) {
  io::Fd f = io::Fd::open(path, O_WRONLY);
  std::vector<uint64_t> block((1u << 20) / sizeof(uint64_t));
  for (uint64_t off = 0; off < bytes; off += 1u << 20) {
    for (size_t i = 0; i < block.size(); ++i) block[i] = (off + i) * 0x9e3779b97f4a7c15ull;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(1u << 20, bytes - off));
    if (::pwrite(f.get(), block.data(), n, static_cast<off_t>(off)) != static_cast<ssize_t>(n)) throw_sys("write", path, errno);
  }
  f.fsync();
}

void fresh_bed(const Target& t, const Bed& b, uint64_t image_bytes) {
  enter_private_mount_namespace();
  run_peer({"mkfs.btrfs", "-q", "-f", "-K", t.dev()});
  if (::mkdir(b.mnt.c_str(), 0700) != 0 && errno != EEXIST) throw_sys("mkdir", b.mnt, errno);
  run_peer({"mount", t.dev(), b.mnt});
  vol::Store s = open_store(t, b);
  if (image_bytes == 0) return;
  s.create({"img", vol::Kind::block, image_bytes});
  write_whole(b.image(), image_bytes);
}

// Unmounted, and the mount point and the attach link (<mnt>-run/volumes/disk) gone.
void drop_bed(const Bed& b) {
  // A loop device just detached can still hold the image while udev has it open: wait for it.
  for (int tries = 1;; ++tries) {
    try {
      run_peer({"umount", b.mnt});
      break;
    } catch (const std::exception&) {
      if (tries == 50) throw;
      ::usleep(100000);
    }
  }
  ::rmdir(b.mnt.c_str());
  ::unlink((b.mnt + "-run/volumes/disk").c_str());
  ::rmdir((b.mnt + "-run/volumes").c_str());
  ::rmdir((b.mnt + "-run").c_str());
}

// The loop devices backed by file, detached (the peer's losetup leaves one).
void detach_loops_of(const std::string& file) {
  std::istringstream lines(peer_output({"losetup", "-j", file}));
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("/dev/loop", 0) == 0) run_peer({"losetup", "-d", line.substr(0, line.find(':'))});
}

Contender contender(std::string name, const std::string& tool, std::function<void(Target&)> prepare,
                    std::function<void(Target&)> run, std::function<void(Target&)> cleanup) {
  Contender c;
  c.name = std::move(name);
  if (!tool.empty() && !have_tool(tool)) c.unavailable = tool + " not installed";
  c.prepare = std::move(prepare);
  c.run = [run = std::move(run)](Target& t) -> std::optional<double> {
    run(t);
    return std::nullopt;
  };
  c.cleanup = std::move(cleanup);
  return c;
}

}  // namespace

void add_volume_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  const Bed b{cfg.workdir + "/mos-bench-volumes-" + std::to_string(::getpid())};
  const uint64_t image = cfg.size;
  // Room for the written image, its metadata and btrfs's own (the clone shares every extent).
  const TargetSpec target{image + (512ull << 20), 512, true, true, false};
  auto with_image = [b, image](Target& t) { fresh_bed(t, b, image); };
  auto unmount = [b](Target&) { drop_bed(b); };

  Scenario clone;
  clone.name = "volume-clone";
  clone.description = "clone of a written " + std::to_string(image >> 20) + " MiB image on btrfs (constant time)";
  clone.target = target;
  clone.ours.push_back(contender("ours (Store::clone, FICLONE)", "", with_image,
                                 [b](Target& t) { open_store(t, b).clone("img", "copy"); }, unmount));
  clone.peers.push_back(contender("cp --reflink=always", "cp", with_image, [b](Target&) {
    run_peer({"cp", "--reflink=always", b.image(), b.vols() + "/copy"});
  }, unmount));
  clone.peers.push_back(contender("btrfs subvolume snapshot", "btrfs", with_image, [b](Target&) {
    run_peer({"btrfs", "subvolume", "snapshot", b.vols(), b.mnt + "/snap"});
  }, unmount));
  out.push_back(std::move(clone));

  Scenario attach;
  attach.name = "volume-create-attach";
  attach.description = "create a " + std::to_string(image >> 20) + " MiB VM disk and attach it (loop, direct I/O)";
  attach.target = target;
  auto empty = [b](Target& t) { fresh_bed(t, b, 0); };
  attach.ours.push_back(contender("ours (create + attach)", "", empty, [b, image](Target& t) {
    vol::Store s = open_store(t, b);
    s.create({"disk", vol::Kind::block, image});
    vol::attach(s, "disk", false, true, context_for(t, b));
  }, [b](Target&) {
    detach_loops_of(b.vols() + "/disk");
    drop_bed(b);
  }));
  attach.peers.push_back(contender("truncate + losetup --direct-io", "losetup", empty, [b, image](Target&) {
    const std::string file = b.vols() + "/disk";
    run_peer({"truncate", "-s", std::to_string(image), file});
    run_peer({"losetup", "--direct-io=on", "-f", file});
  }, [b](Target&) {
    detach_loops_of(b.vols() + "/disk");
    drop_bed(b);
  }));
  out.push_back(std::move(attach));
}

}  // namespace mos::bench
