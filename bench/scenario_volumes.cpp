// Volumes (issue 21): clone of a written image — ours (Store::clone: FICLONE, metadata xattr,
// fsync, rename) vs `cp --reflink=always` vs a `btrfs subvolume snapshot` of the subvolume holding
// it — at --size and, in a full run, at 4 and 16 GiB; and create + attach of a VM disk — ours
// (Store::create + attach: LOOP_CONFIGURE, direct I/O) vs `truncate` + `losetup --direct-io=on`.
// The clone's bed (a fresh btrfs on the target, mounted in the bench's private mount namespace,
// the image written whole and fsynced) is made once per scenario, untimed, and each repetition's
// copy removed after it; create + attach gets a fresh btrfs before every run.
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.hpp"
#include "bench/volume_bed.hpp"
#include "engine/volumes/attach.hpp"

namespace mos::bench {

namespace {

namespace vol = engine::volumes;

std::string size_name(uint64_t bytes) {
  return bytes >= (1ull << 30) && bytes % (1ull << 30) == 0 ? std::to_string(bytes >> 30) + " GiB"
                                                            : std::to_string(bytes >> 20) + " MiB";
}

// volume-clone at `image` bytes, named `name`.
Scenario clone_scenario(const Config& cfg, const std::string& name, uint64_t image) {
  const VolumeBed b{cfg.workdir + "/mos-bench-" + name + "-" + std::to_string(::getpid())};
  Scenario s;
  s.name = name;
  s.description = "clone of a written " + size_name(image) + " image on btrfs (constant time)";
  // Room for the written image, its metadata and btrfs's own (the clones share every extent; a
  // 4 GiB image does not fit in 4.5 GiB); a sparse backing file: only what the bed writes takes
  // room on the host.
  s.target = TargetSpec{image + image / 8 + (1ull << 30), 512, true, false, false};
  SharedVolumeBed shared = shared_volume_bed(b, image);
  auto bed = shared.make;
  s.teardown = shared.teardown;
  auto unlink_copy = [b](Target&) { ::unlink((b.vols() + "/copy").c_str()); };
  s.ours.push_back(volume_contender("ours (Store::clone, FICLONE)", "", bed,
                                    [b](Target& t) { open_volume_store(t, b).clone("img", "copy"); },
                                    [b](Target& t) { open_volume_store(t, b).remove("copy"); }));
  s.peers.push_back(volume_contender("cp --reflink=always", "cp", bed, [b](Target&) {
    run_peer({"cp", "--reflink=always", b.image(), b.vols() + "/copy"});
  }, unlink_copy));
  s.peers.push_back(volume_contender("btrfs subvolume snapshot", "btrfs", bed, [b](Target&) {
    run_peer({"btrfs", "subvolume", "snapshot", b.vols(), b.mnt + "/snap"});
  }, [b](Target&) { run_peer({"btrfs", "subvolume", "delete", b.mnt + "/snap"}); }));
  return s;
}

}  // namespace

void add_volume_scenarios(std::vector<Scenario>& out, const Config& cfg) {
  const uint64_t image = cfg.size;
  out.push_back(clone_scenario(cfg, "volume-clone", image));
  // Constant time whatever the size: the bigger images in a full run only (the untimed fill
  // writes them once per scenario: 4 + 16 GiB on the host's disk).
  if (!cfg.short_run) {
    out.push_back(clone_scenario(cfg, "volume-clone-4g", 4ull << 30));
    out.push_back(clone_scenario(cfg, "volume-clone-16g", 16ull << 30));
  }

  const VolumeBed b{cfg.workdir + "/mos-bench-volumes-" + std::to_string(::getpid())};
  Scenario attach;
  attach.name = "volume-create-attach";
  attach.description = "create a " + size_name(image) + " VM disk and attach it (loop, direct I/O)";
  attach.target = TargetSpec{image + (512ull << 20), 512, true, true, false};
  auto empty = [b](Target& t) { fresh_volume_bed(t, b, 0); };
  auto detach_and_drop = [b](Target&) {
    detach_loops_of(b.vols() + "/disk");
    drop_volume_bed(b);
  };
  attach.ours.push_back(volume_contender("ours (create + attach)", "", empty, [b, image](Target& t) {
    vol::Store s = open_volume_store(t, b);
    s.create({"disk", vol::Kind::block, image});
    vol::attach(s, "disk", false, true, volume_context(t, b));
  }, detach_and_drop));
  attach.peers.push_back(volume_contender("truncate + losetup --direct-io", "losetup", empty, [b, image](Target&) {
    const std::string file = b.vols() + "/disk";
    run_peer({"truncate", "-s", std::to_string(image), file});
    run_peer({"losetup", "--direct-io=on", "-f", file});
  }, detach_and_drop));
  out.push_back(std::move(attach));
}

}  // namespace mos::bench
