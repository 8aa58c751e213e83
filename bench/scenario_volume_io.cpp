// Volumes (issue 21), I/O and storage choices, each image written whole first (untimed):
// - volume-fio-randwrite: 4 KiB random writes (fio, io_uring QD32, O_DIRECT, a fixed number of
//   writes) on an attached volume (loop with direct I/O) vs the same image file used directly vs
//   the loop device without direct I/O: what the loop layer costs.
// - volume-storage-choices: the same writes on the image file stored copy-on-write (the default),
//   nodatacow (FS_NOCOW_FL on the empty file, chattr +C), and copy-on-write compressed with zstd
//   (the btrfs.compression property: what a compress=zstd mount does to the file); after each
//   run the image's extent count (FIEMAP) is printed: the fragmentation.
// - volume-defrag-shared: BTRFS_IOC_DEFRAG_RANGE (engine/btrfs defrag) vs `btrfs filesystem
//   defragment` of an image a clone shares and random writes fragmented; shared bytes before and
//   after (`btrfs filesystem du --raw`, the oracle) are printed: defrag unshares.
// fio's figures time the writes; a run's "seconds" are for the scenario's nominal bytes, so the
// MiB/s column is fio's bandwidth (IOPS = MiB/s x 256) and the ratios are IOPS ratios.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "base/error.hpp"
#include "bench/bench.hpp"
#include "bench/volume_bed.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/volumes/attach.hpp"
#include "engine/volumes/extents.hpp"
#include "ioctl/fd.hpp"

namespace mos::bench {

namespace {

namespace vol = engine::volumes;

struct IoPlan {
  uint64_t image = 0;     // bytes of the image
  uint64_t writes = 0;    // bytes of 4 KiB random writes per run
};

IoPlan io_plan(const Config& cfg) {
  if (cfg.short_run) return {16ull << 20, 512ull << 10};  // CI: that it runs, not figures
  return {std::min<uint64_t>(cfg.size, 1ull << 30), 64ull << 20};
}

// fio's seconds for `writes` bytes of 4 KiB random writes on `filename`.
double fio_randwrite(const std::string& filename, const IoPlan& p, const std::string& scratch) {
  FioResult r = run_fio({"--name=randwrite", "--filename=" + filename, "--ioengine=io_uring", "--iodepth=32",
                         "--rw=randwrite", "--bs=4k", "--direct=1", "--size=" + std::to_string(p.image),
                         "--io_size=" + std::to_string(p.writes), "--randrepeat=1", "--end_fsync=1"},
                        scratch, "write");
  return p.writes / r.bw_bytes;
}

Contender fio_contender(std::string name, std::function<void(Target&)> prepare,
                        std::function<std::string(Target&)> filename, std::function<void(Target&)> cleanup,
                        const IoPlan& p) {
  Contender c;
  c.name = std::move(name);
  if (!have_tool("fio")) c.unavailable = "fio not installed";
  c.prepare = std::move(prepare);
  c.run = [filename = std::move(filename), p](Target& t) -> std::optional<double> {
    return fio_randwrite(filename(t), p, t.file());
  };
  c.cleanup = std::move(cleanup);
  return c;
}

uint64_t extent_count(const std::string& path) {
  return vol::extent_bytes(io::Fd::open(path, O_RDONLY)).extents;
}

// The image `img` made by hand (not a volume): FS_NOCOW_FL set while it is empty (the flag only
// takes on a file without data) when nocow, the `btrfs.compression` property set when compression
// is not empty (as the compress=<it> mount option would for this file); written whole.
void hand_made_image(const VolumeBed& b, uint64_t bytes, bool nocow, const std::string& compression) {
  const std::string path = b.image();
  {
    io::Fd f = io::Fd::open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    int flags = 0;
    if (::ioctl(f.get(), FS_IOC_GETFLAGS, &flags) != 0) throw_sys("FS_IOC_GETFLAGS", path, errno);
    flags |= nocow ? FS_NOCOW_FL : 0;
    if (::ioctl(f.get(), FS_IOC_SETFLAGS, &flags) != 0) throw_sys("FS_IOC_SETFLAGS", path, errno);
    if (!compression.empty() &&
        ::fsetxattr(f.get(), "btrfs.compression", compression.data(), compression.size(), 0) != 0)
      throw_sys("set btrfs.compression of", path, errno);
    if (::ftruncate(f.get(), static_cast<off_t>(bytes)) != 0) throw_sys("size", path, errno);
  }
  write_whole(path, bytes);
}

// The files gone and their space free again (a transaction commit) for the next repetition.
void remove_files(const VolumeBed& b, const std::vector<std::string>& names) {
  for (const auto& n : names) ::unlink((b.vols() + "/" + n).c_str());
  run_peer({"btrfs", "filesystem", "sync", b.mnt});
}

// "name: text" on stderr (stdout may be the JSON report).
void note(const std::string& scenario, const std::string& contender, const std::string& text) {
  std::fprintf(stderr, "%s: %s: %s\n", scenario.c_str(), contender.c_str(), text.c_str());
}

// Shared and exclusive bytes of the given files as `btrfs filesystem du --raw` totals them.
std::string du_summary(const std::vector<std::string>& files) {
  std::vector<std::string> argv{"btrfs", "filesystem", "du", "--raw"};
  argv.insert(argv.end(), files.begin(), files.end());
  std::istringstream lines(peer_output(argv));
  std::string out, line;
  while (std::getline(lines, line)) out += (out.empty() ? "" : "; ") + line.substr(0, line.find_last_not_of(' ') + 1);
  return out;
}

// A scenario of fio random writes on a p.image bytes image: the target (a sparse backing file)
// with room for it and btrfs's own, p.writes bytes per run.
Scenario fio_scenario(std::string name, const std::string& what, const IoPlan& p) {
  Scenario s;
  s.name = std::move(name);
  s.description = "4 KiB random writes (fio QD32 O_DIRECT, " + std::to_string(p.writes >> 10) + " KiB) on a " +
                  std::to_string(p.image >> 20) + " MiB image " + what + " (IOPS = MiB/s x 256)";
  s.target = TargetSpec{p.image + (512ull << 20), 512, true, false, false};
  s.bytes = p.writes;
  return s;
}

Scenario fio_randwrite_scenario(const Config& cfg) {
  const IoPlan p = io_plan(cfg);
  const VolumeBed b{cfg.workdir + "/mos-bench-volume-fio-" + std::to_string(::getpid())};
  Scenario s = fio_scenario("volume-fio-randwrite", "attached vs the file", p);
  auto device = std::make_shared<std::string>();
  SharedVolumeBed shared = shared_volume_bed(b, p.image);
  auto bed = shared.make;
  s.teardown = shared.teardown;
  auto attached = [b, bed, device](bool direct) {
    return [b, bed, device, direct](Target& t) {
      bed(t);
      *device = vol::attach(open_volume_store(t, b), "img", false, direct, volume_context(t, b)).device;
    };
  };
  auto detach = [b](Target& t) { vol::detach(open_volume_store(t, b), "img", volume_context(t, b)); };
  auto on_device = [device](Target&) { return *device; };
  s.ours.push_back(fio_contender("ours (attached, loop direct I/O)", attached(true), on_device, detach, p));
  s.peers.push_back(fio_contender("fio on the image file (O_DIRECT)", bed, [b](Target&) { return b.image(); }, {}, p));
  s.peers.push_back(fio_contender("fio via loop without direct I/O", attached(false), on_device, detach, p));
  return s;
}

// One bed for the scenario; each run makes its image fresh, written whole, and removes it after.
Scenario storage_choices_scenario(const Config& cfg) {
  const IoPlan p = io_plan(cfg);
  const VolumeBed b{cfg.workdir + "/mos-bench-volume-choices-" + std::to_string(::getpid())};
  Scenario s = fio_scenario("volume-storage-choices", "by how it is stored", p);
  s.target.size = 2 * p.image + (512ull << 20);  // the image and the one removed before it
  SharedVolumeBed shared = shared_volume_bed(b, 0);
  s.teardown = shared.teardown;
  auto image = [b](Target&) { return b.image(); };
  auto report = [b, name = s.name](const std::string& who) {
    return [b, name, who](Target&) {
      note(name, who, std::to_string(extent_count(b.image())) + " extents after the writes (FIEMAP)");
      remove_files(b, {"img"});
    };
  };
  auto made = [b, p, make = shared.make](bool nocow, std::string compression) {
    return [b, p, make, nocow, compression](Target& t) {
      make(t);
      hand_made_image(b, p.image, nocow, compression);
    };
  };
  const std::string cow = "ours (copy-on-write image)", nocow = "nodatacow image (FS_NOCOW_FL)",
                    zstd = "copy-on-write, zstd (btrfs.compression)";
  s.ours.push_back(fio_contender(cow, made(false, ""), image, report(cow), p));
  s.peers.push_back(fio_contender(nocow, made(true, ""), image, report(nocow), p));
  s.peers.push_back(fio_contender(zstd, made(false, "zstd"), image, report(zstd), p));
  return s;
}

// One bed for the scenario; each run makes the image and its clone fresh and removes them after.
Scenario defrag_shared_scenario(const Config& cfg) {
  const IoPlan p = io_plan(cfg);
  const VolumeBed b{cfg.workdir + "/mos-bench-volume-defrag-" + std::to_string(::getpid())};
  Scenario s;
  s.name = "volume-defrag-shared";
  s.description = "defragment a " + std::to_string(p.image >> 20) + " MiB image shared with a clone after " +
                  std::to_string(p.writes >> 10) + " KiB of 4 KiB random writes";
  s.target = TargetSpec{3 * p.image + (512ull << 20), 512, true, false, false};
  SharedVolumeBed shared = shared_volume_bed(b, 0);
  s.teardown = shared.teardown;
  auto du = [b]() { return du_summary({b.image(), b.vols() + "/copy"}); };
  auto report = [b, du, name = s.name](const std::string& who) {
    return [b, du, name, who](Target&) {
      run_peer({"btrfs", "filesystem", "sync", b.mnt});
      note(name, who, std::to_string(extent_count(b.image())) + " extents after; du: " + du());
      remove_files(b, {"img", "copy"});
    };
  };
  auto before = [b, p, du, make = shared.make, name = s.name](Target& t) {
    make(t);
    vol::Store store = open_volume_store(t, b);
    store.create({"img", vol::Kind::block, p.image});
    write_whole(b.image(), p.image);
    store.clone("img", "copy");
    fio_randwrite(b.image(), p, t.file());
    run_peer({"btrfs", "filesystem", "sync", b.mnt});
    note(name, "before", std::to_string(extent_count(b.image())) + " extents; du: " + du());
  };
  const std::string ours = "ours (BTRFS_IOC_DEFRAG_RANGE)", tool = "btrfs filesystem defragment";
  s.ours.push_back(volume_contender(ours, "fio", before, [b](Target& t) {
    engine::btrfs::defrag(b.image(), volume_context(t, b));
  }, report(ours)));
  s.peers.push_back(volume_contender(tool, "btrfs", before, [b](Target&) {
    run_peer({"btrfs", "filesystem", "defragment", b.image()});
  }, report(tool)));
  return s;
}

}  // namespace

void add_volume_io_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  out.push_back(fio_randwrite_scenario(cfg));
  out.push_back(storage_choices_scenario(cfg));
  out.push_back(defrag_shared_scenario(cfg));
}

}  // namespace mos::bench
