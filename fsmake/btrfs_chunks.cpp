#include "fsmake/btrfs_chunks.hpp"

#include <linux/btrfs_tree.h>

#include <algorithm>

#include "fsmake/btrfs_structs.hpp"
#include "base/error.hpp"

namespace mos::fsmake::btrfs {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kReservedStart = 1 * MiB;  // BTRFS_DEVICE_RANGE_RESERVED
constexpr uint64_t kSystemChunk = 8 * MiB;
constexpr uint64_t kSmallDataChunk = 8 * MiB;

uint64_t round_down(uint64_t v, uint64_t a) { return v / a * a; }

std::string mib(uint64_t b) { return std::to_string(b / MiB) + " MiB"; }

// Devices ordered by most unallocated space, ties by lower index (as the kernel's allocator).
std::vector<size_t> by_free_space(const std::vector<uint64_t>& total, const std::vector<uint64_t>& cursor) {
  std::vector<size_t> order(total.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return total[a] - cursor[a] > total[b] - cursor[b]; });
  return order;
}

}  // namespace

std::optional<Profile> parse_profile(const std::string& name) {
  if (name == "single") return Profile::single;
  if (name == "dup") return Profile::dup;
  if (name == "raid1") return Profile::raid1;
  return std::nullopt;
}

const char* profile_name(Profile p) {
  switch (p) {
    case Profile::single: return "single";
    case Profile::dup: return "dup";
    case Profile::raid1: return "raid1";
  }
  return "?";
}

uint64_t profile_flag(Profile p) {
  switch (p) {
    case Profile::single: return 0;
    case Profile::dup: return BTRFS_BLOCK_GROUP_DUP;
    case Profile::raid1: return BTRFS_BLOCK_GROUP_RAID1;
  }
  return 0;
}

ChunkLayout allocate_chunks(const std::vector<uint64_t>& dev_sizes, Profile metadata, Profile data) {
  ChunkLayout L;
  for (uint64_t s : dev_sizes) L.dev_total_bytes.push_back(round_down(s, kSectorSize));
  const uint64_t smallest = *std::min_element(L.dev_total_bytes.begin(), L.dev_total_bytes.end());
  uint64_t fs_total = 0;
  for (uint64_t s : L.dev_total_bytes) fs_total += s;

  std::vector<uint64_t> cursor(dev_sizes.size(), kReservedStart);
  uint64_t next_logical = kReservedStart;

  auto place = [&](ChunkPlan& c, uint64_t type, Profile p, uint64_t length, const char* what) {
    c.logical = next_logical;
    c.length = length;
    c.type = type | profile_flag(p);
    auto order = by_free_space(L.dev_total_bytes, cursor);
    std::vector<size_t> devs;
    if (p == Profile::raid1) devs = {order[0], order[1]};
    else if (p == Profile::dup) devs = {order[0], order[0]};
    else devs = {order[0]};
    for (size_t d : devs) {
      if (cursor[d] + length > L.dev_total_bytes[d])
        throw_validation(std::string("device ") + std::to_string(d + 1) + " (" + mib(L.dev_total_bytes[d]) +
                         ") is too small for the " + what + " chunk of " + mib(length) + " (" +
                         profile_name(p) + ")");
      c.stripes.push_back({d, cursor[d]});
      cursor[d] += length;
    }
    next_logical += length;
  };

  const uint64_t meta_cap = fs_total >= 50 * GiB ? 1 * GiB : 256 * MiB;
  const uint64_t meta_copies_per_dev = metadata == Profile::dup ? 2 : 1;
  const uint64_t meta_len = std::max<uint64_t>(
      MiB, std::min(meta_cap, round_down(smallest / 10 / meta_copies_per_dev, MiB)));
  const uint64_t data_len =
      data == Profile::raid1 ? std::max<uint64_t>(MiB, std::min(1 * GiB, round_down(smallest / 10, MiB)))
                             : kSmallDataChunk;

  place(L.system, BTRFS_BLOCK_GROUP_SYSTEM, metadata, kSystemChunk, "system");
  place(L.metadata, BTRFS_BLOCK_GROUP_METADATA, metadata, meta_len, "metadata");
  place(L.data, BTRFS_BLOCK_GROUP_DATA, data, data_len, "data");

  L.dev_bytes_used.assign(dev_sizes.size(), 0);
  for (auto* c : {&L.system, &L.metadata, &L.data})
    for (auto& s : c->stripes) L.dev_bytes_used[s.dev_index] += c->length;
  L.dev_allocated_end = cursor;
  return L;
}

bool overlaps_super_mirror(uint64_t physical, uint64_t len) {
  for (uint64_t m : kSuperMirrors)
    if (physical < m + kStripeLen && m < physical + len) return true;
  return false;
}

std::vector<uint64_t> tree_block_slots(const ChunkPlan& chunk, size_t count, uint32_t nodesize) {
  std::vector<uint64_t> out;
  for (uint64_t off = 0; off + nodesize <= chunk.length && out.size() < count; off += nodesize) {
    bool clear = true;
    for (auto& s : chunk.stripes) clear = clear && !overlaps_super_mirror(s.physical + off, nodesize);
    if (clear) out.push_back(chunk.logical + off);
  }
  if (out.size() < count) throw Error(ErrorCode::internal, "btrfs chunk too small for its tree blocks");
  return out;
}

std::vector<uint64_t> super_mirrors_for(uint64_t total_bytes) {
  std::vector<uint64_t> out;
  for (uint64_t m : kSuperMirrors)
    if (m + kSuperSize < total_bytes) out.push_back(m);
  return out;
}

}  // namespace mos::fsmake::btrfs
