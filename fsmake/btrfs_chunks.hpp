// Where a fresh btrfs puts its chunks: system, metadata and data chunks with their stripes on
// the devices (dev extents), the logical address space, and tree-block slots that avoid
// superblock mirrors.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mos::fsmake::btrfs {

enum class Profile { single, dup, raid1 };
std::optional<Profile> parse_profile(const std::string& name);
const char* profile_name(Profile p);
uint64_t profile_flag(Profile p);  // BTRFS_BLOCK_GROUP_DUP / RAID1 / 0

struct StripePlacement {
  size_t dev_index = 0;  // index into the device list (devid = index + 1)
  uint64_t physical = 0;
};

struct ChunkPlan {
  uint64_t logical = 0;
  uint64_t length = 0;
  uint64_t type = 0;  // BTRFS_BLOCK_GROUP_{SYSTEM,METADATA,DATA} | profile flag
  std::vector<StripePlacement> stripes;
};

struct ChunkLayout {
  ChunkPlan system, metadata, data;
  std::vector<uint64_t> dev_total_bytes;  // device sizes rounded down to the sector size
  std::vector<uint64_t> dev_bytes_used;   // sum of dev extents per device
  std::vector<uint64_t> dev_allocated_end;  // first byte after the last dev extent per device
};

// Chunk sizes follow mkfs.btrfs 6.2: system 8 MiB; metadata 10% of the smallest device split
// over the copies it holds, capped at 256 MiB (1 GiB from 50 GiB); data 8 MiB, or for RAID1
// 10% of the smallest device capped at 1 GiB. Stripes go from 1 MiB up (the first MiB is
// reserved by the kernel allocator). Throws mos::Error(validation) if a device is too small.
ChunkLayout allocate_chunks(const std::vector<uint64_t>& dev_sizes, Profile metadata, Profile data);

// True if [physical, physical+len) overlaps the 64 KiB a superblock mirror reserves.
bool overlaps_super_mirror(uint64_t physical, uint64_t len);

// The first `count` node-sized logical addresses in `chunk` whose every copy avoids superblock
// mirrors.
std::vector<uint64_t> tree_block_slots(const ChunkPlan& chunk, size_t count, uint32_t nodesize);

// Superblock offsets that fit on a device of total_bytes (the kernel skips a mirror whose end
// reaches the device end).
std::vector<uint64_t> super_mirrors_for(uint64_t total_bytes);

}  // namespace mos::fsmake::btrfs
