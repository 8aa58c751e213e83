// What the volume scenarios (bench/scenario_volumes.cpp, bench/scenario_volume_io.cpp) share: a
// fresh btrfs on the target, mounted in the bench's private mount namespace, holding the volumes
// subvolume; images written whole; the loop devices a peer left detached.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "bench/bench.hpp"
#include "engine/context.hpp"
#include "engine/volumes/store.hpp"

namespace mos::bench {

struct VolumeBed {
  std::string mnt;  // the btrfs on the target
  std::string vols() const { return mnt + "/volumes"; }
  std::string image() const { return vols() + "/img"; }
};

engine::Context volume_context(const Target& t, const VolumeBed& b);
engine::volumes::Store open_volume_store(const Target& t, const VolumeBed& b);
// Every byte of path written (distinct 8 MiB sequential blocks, so nothing is a hole or
// compresses), fsynced.
void write_whole(const std::string& path, uint64_t bytes);
// mkfs.btrfs on the target, mounted at b.mnt, the volumes subvolume made and, when
// image_bytes > 0, block volume `img` of that size written whole.
void fresh_volume_bed(const Target& t, const VolumeBed& b, uint64_t image_bytes);
// A bed made once per scenario: `make` for the contenders' prepare (nothing once made), `teardown`
// for Scenario::teardown (drops it once begun, even half made: a fill that failed).
struct SharedVolumeBed {
  std::function<void(Target&)> make;
  std::function<void(Target&)> teardown;
};
SharedVolumeBed shared_volume_bed(const VolumeBed& b, uint64_t image_bytes);
// Unmounted, and the mount point and the attach links (<mnt>-run/volumes/*) gone.
void drop_volume_bed(const VolumeBed& b);
// The loop devices backed by file, detached (the peer's losetup leaves one).
void detach_loops_of(const std::string& file);
// A contender timed by wall time; unavailable when `tool` (non-empty) is not installed.
Contender volume_contender(std::string name, const std::string& tool, std::function<void(Target&)> prepare,
                           std::function<void(Target&)> run, std::function<void(Target&)> cleanup);

}  // namespace mos::bench
