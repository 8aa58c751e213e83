// Assembles a fresh btrfs: validates the request, lays out chunks, places and serializes every
// tree leaf, and emits per device: wipe; tree blocks (all copies) + superblock mirrors; primary.
#include <linux/btrfs_tree.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>

#include "fsmake/btrfs.hpp"
#include "fsmake/btrfs_chunks.hpp"
#include "fsmake/btrfs_structs.hpp"
#include "fsmake/btrfs_tree_builder.hpp"
#include "base/bytes.hpp"
#include "fsmake/btrfs_trees.hpp"
#include "fsmake/label.hpp"
#include "base/error.hpp"
#include "base/uuid.hpp"

namespace mos::fsmake::btrfs {
namespace {

constexpr uint64_t MiB = 1ull << 20;

bool is_zero(const Uuid& u) { return all_zero(u.data(), u.size()); }

struct Request {
  Profile metadata = Profile::dup;
  Profile data = Profile::single;
  std::vector<uint64_t> sizes;
};

Request validate(const BtrfsOptions& o, const std::vector<BtrfsDevice>& devices) {
  if (devices.empty()) throw_validation("btrfs needs at least one device");
  if (devices.size() > kMaxDevices)
    throw_validation("btrfs mkfs supports at most " + std::to_string(kMaxDevices) + " devices, got " +
                     std::to_string(devices.size()));
  fsmake::validate_label("btrfs", o.label, kLabelBytes);
  if (o.fsid && is_zero(*o.fsid)) throw_validation("btrfs fsid must not be all zeroes");
  if (o.dev_uuids && o.dev_uuids->size() != devices.size())
    throw_validation("btrfs: one device UUID per device is required when device UUIDs are given");
  Request r;
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    const std::string which = "btrfs device " + std::to_string(i + 1);
    if (d.size_bytes < kMinDeviceBytes)
      throw_validation(which + " has " + std::to_string(d.size_bytes) + " bytes; the minimum is " +
                       std::to_string(kMinDeviceBytes) + " (109 MiB)");
    auto ss = d.logical_sector_size;
    if (ss < 512 || ss > kSectorSize || (ss & (ss - 1)))
      throw_validation(which + " has logical sector size " + std::to_string(ss) +
                       "; btrfs with 4096-byte sectors needs 512..4096 (a power of two)");
    r.sizes.push_back(d.size_bytes);
  }
  auto data = parse_profile(o.data_profile);
  if (!data) throw_validation("unknown btrfs data profile '" + o.data_profile + "' (single, dup, raid1)");
  std::string meta_name = o.metadata_profile;
  if (meta_name.empty()) meta_name = devices.size() >= 2 ? "raid1" : "dup";
  auto meta = parse_profile(meta_name);
  if (!meta) throw_validation("unknown btrfs metadata profile '" + meta_name + "' (single, dup, raid1)");
  for (auto [p, what] : {std::pair{*data, "data"}, std::pair{*meta, "metadata"}})
    if (p == Profile::raid1 && devices.size() < 2)
      throw_validation(std::string("btrfs ") + what + " profile raid1 needs at least 2 devices, got " +
                       std::to_string(devices.size()));
  r.data = *data;
  r.metadata = *meta;
  return r;
}

// Leaves in the metadata chunk, grouped into runs of adjacent addresses (one write per copy).
struct LeafRun {
  uint64_t logical = 0;
  std::vector<uint8_t> bytes;
};

std::vector<LeafRun> serialize_metadata_leaves(const FreshFs& fs, const NodeIdentity& id) {
  std::vector<LeafRun> runs;
  for (uint64_t owner : kMetadataTrees) {
    const uint64_t bytenr = fs.tree_block.at(owner);
    if (runs.empty() || runs.back().logical + runs.back().bytes.size() != bytenr) runs.push_back({bytenr, {}});
    auto& bytes = runs.back().bytes;
    bytes.resize(bytes.size() + kNodeSize);
    build_tree(fs, owner).write(bytes.data() + bytes.size() - kNodeSize, bytenr, id);
  }
  return runs;
}

// The superblock all devices share; dev_item, bytenr and checksum differ per copy.
SuperBlock base_superblock(const FreshFs& fs, const std::string& label) {
  SuperBlock sb{};
  std::memcpy(sb.fsid, fs.fsid.data(), 16);
  sb.flags = kHeaderFlagWritten;
  sb.magic = kMagic;
  sb.generation = kGeneration;
  sb.root = fs.tree_block.at(BTRFS_ROOT_TREE_OBJECTID);
  sb.chunk_root = fs.chunk_block;
  uint64_t total = 0;
  for (uint64_t t : fs.layout.dev_total_bytes) total += t;
  sb.total_bytes = total;
  sb.bytes_used = kNodeSize * (1 + fs.tree_block.size());
  sb.root_dir_objectid = kRootTreeDirObjectid;
  sb.num_devices = fs.dev_uuids.size();
  sb.sectorsize = kSectorSize;
  sb.nodesize = kNodeSize;
  sb.unused_leafsize = kNodeSize;
  sb.stripesize = kSectorSize;
  sb.chunk_root_generation = kGeneration;
  sb.compat_ro_flags = kCompatRoFreeSpaceTree | kCompatRoFreeSpaceTreeValid;
  sb.incompat_flags = kIncompatMixedBackref | kIncompatExtendedIref | kIncompatSkinnyMetadata | kIncompatNoHoles;
  sb.csum_type = BTRFS_CSUM_TYPE_CRC32;
  std::memcpy(sb.label, label.data(), label.size());
  sb.uuid_tree_generation = kGeneration;  // our UUID tree is complete: no rescan at first mount

  DiskKey k = to_disk(Key{BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, fs.layout.system.logical});
  auto item = chunk_item_bytes(fs.layout.system, fs.dev_uuids);
  std::memcpy(sb.sys_chunk_array, &k, sizeof k);
  std::memcpy(sb.sys_chunk_array + sizeof k, item.data(), item.size());
  sb.sys_chunk_array_size = static_cast<uint32_t>(sizeof k + item.size());

  RootBackup& b = sb.super_roots[0];
  b.tree_root = sb.root.get();
  b.chunk_root = fs.chunk_block;
  b.extent_root = fs.tree_block.at(BTRFS_EXTENT_TREE_OBJECTID);
  b.fs_root = fs.tree_block.at(BTRFS_FS_TREE_OBJECTID);
  b.dev_root = fs.tree_block.at(BTRFS_DEV_TREE_OBJECTID);
  b.csum_root = fs.tree_block.at(BTRFS_CSUM_TREE_OBJECTID);
  b.tree_root_gen = b.chunk_root_gen = b.extent_root_gen = b.fs_root_gen = b.dev_root_gen = b.csum_root_gen =
      kGeneration;
  b.total_bytes = total;
  b.bytes_used = sb.bytes_used.get();
  b.num_devices = sb.num_devices.get();
  return sb;
}

std::vector<uint8_t> superblock_copy(SuperBlock sb, uint64_t offset) {
  sb.bytenr = offset;
  std::vector<uint8_t> bytes(sizeof sb);
  std::memcpy(bytes.data(), &sb, sizeof sb);
  store_le32(bytes.data(), block_csum(bytes.data(), bytes.size()));
  return bytes;
}

mos::WritePlan device_plan(const FreshFs& fs, size_t d, uint64_t device_bytes, const std::vector<uint8_t>& chunk_leaf,
                          const std::vector<LeafRun>& runs, const SuperBlock& base) {
  const ChunkLayout& L = fs.layout;
  const uint64_t dev_total = L.dev_total_bytes[d];
  const auto mirrors = super_mirrors_for(dev_total);
  mos::WritePlan plan{"btrfs", {}};

  // Wipe where mkfs.btrfs does: the reserved first MiB (old superblock, boot sectors, partition
  // tables), every superblock mirror, and the last 2 MiB (md 0.90/1.0 superblocks, GPT backup)
  // unless our chunks reach there. Nothing valid exists until the primary superblock lands.
  auto& wipe = plan.step("wipe");
  wipe.zeroes.push_back({0, MiB, "first MiB (old signatures and superblock)"});
  for (uint64_t m : mirrors)
    if (m != kSuperOffset) wipe.zeroes.push_back({m, kSuperSize, "old superblock mirror"});
  const uint64_t tail = std::max(L.dev_allocated_end[d], device_bytes > 2 * MiB ? device_bytes - 2 * MiB : 0);
  if (tail < device_bytes) wipe.zeroes.push_back({tail, device_bytes - tail, "last 2 MiB (old signatures)"});

  auto& trees = plan.step("trees");
  for (auto& s : L.system.stripes)
    if (s.dev_index == d)
      trees.writes.push_back({s.physical + (fs.chunk_block - L.system.logical), chunk_leaf, "chunk tree leaf"});
  for (auto& s : L.metadata.stripes)
    if (s.dev_index == d)
      for (auto& r : runs)
        trees.writes.push_back({s.physical + (r.logical - L.metadata.logical), r.bytes,
                                "root, extent, dev, fs, csum, uuid, free space and data reloc tree leaves"});

  SuperBlock sb = base;
  sb.dev_item = dev_item_for(fs, d);
  // Mirrors go with the trees: nothing points at either until the primary superblock lands.
  for (uint64_t m : mirrors)
    if (m != kSuperOffset)
      trees.writes.push_back({m, superblock_copy(sb, m), "superblock mirror at " + std::to_string(m)});
  auto& primary = plan.step("super");
  primary.writes.push_back({kSuperOffset, superblock_copy(sb, kSuperOffset),
                            "primary superblock of device " + std::to_string(d + 1)});
  return plan;
}

}  // namespace

std::vector<mos::WritePlan> plan_mkfs(const BtrfsOptions& o, const std::vector<BtrfsDevice>& devices) {
  const Request req = validate(o, devices);
  FreshFs fs;
  fs.layout = allocate_chunks(req.sizes, req.metadata, req.data);
  fs.fsid = o.fsid ? *o.fsid : random_uuid();
  for (size_t i = 0; i < devices.size(); ++i) fs.dev_uuids.push_back(o.dev_uuids ? (*o.dev_uuids)[i] : random_uuid());
  fs.chunk_tree_uuid = random_uuid();
  fs.fs_tree_uuid = random_uuid();
  fs.now = o.now_seconds ? o.now_seconds : static_cast<uint64_t>(std::time(nullptr));
  fs.chunk_block = tree_block_slots(fs.layout.system, 1, kNodeSize)[0];
  auto slots = tree_block_slots(fs.layout.metadata, std::size(kMetadataTrees), kNodeSize);
  for (size_t i = 0; i < slots.size(); ++i) fs.tree_block[kMetadataTrees[i]] = slots[i];

  const NodeIdentity id{fs.fsid, fs.chunk_tree_uuid, kGeneration};
  std::vector<uint8_t> chunk_leaf(kNodeSize);
  build_tree(fs, BTRFS_CHUNK_TREE_OBJECTID).write(chunk_leaf.data(), fs.chunk_block, id);
  const auto runs = serialize_metadata_leaves(fs, id);
  const SuperBlock base = base_superblock(fs, o.label);

  std::vector<mos::WritePlan> plans;
  for (size_t d = 0; d < devices.size(); ++d)
    plans.push_back(device_plan(fs, d, devices[d].size_bytes, chunk_leaf, runs, base));
  return plans;
}

}  // namespace mos::fsmake::btrfs
