// Assembles a fresh btrfs: validates the request, lays out chunks, builds every tree as one
// leaf (generation 1), and emits per device: wipe, tree blocks, superblock mirrors, primary.
#include <linux/btrfs_tree.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>

#include "fsmake/btrfs.hpp"
#include "fsmake/btrfs_chunks.hpp"
#include "fsmake/btrfs_structs.hpp"
#include "fsmake/btrfs_tree_builder.hpp"
#include "ioctl/error.hpp"

namespace mos::fsmake::btrfs {
namespace {

using Uuid = std::array<uint8_t, 16>;
constexpr uint64_t kGeneration = 1;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t kDataRelocObjectid = static_cast<uint64_t>(BTRFS_DATA_RELOC_TREE_OBJECTID);

Uuid random_uuid() {
  Uuid u;
  uuid_generate(u.data());
  return u;
}

bool is_zero(const Uuid& u) {
  return std::all_of(u.begin(), u.end(), [](uint8_t b) { return b == 0; });
}

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
  if (o.label.size() >= 256)
    throw_validation("btrfs label is " + std::to_string(o.label.size()) + " bytes; it must be shorter than 256");
  if (o.label.find('\0') != std::string::npos) throw_validation("btrfs label must not contain NUL bytes");
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

Timespec ts(uint64_t sec) {
  Timespec t{};
  t.sec = sec;
  return t;
}

InodeItem dir_inode(uint64_t nbytes, uint64_t now, bool with_otime) {
  InodeItem i{};
  i.generation = kGeneration;
  i.nbytes = nbytes;
  i.nlink = 1;
  i.mode = S_IFDIR | 0755;
  i.atime = i.ctime = i.mtime = ts(now);
  if (with_otime) i.otime = ts(now);
  return i;
}

RootItem root_item(uint64_t bytenr, uint64_t root_dirid) {
  RootItem r{};
  r.inode.generation = 1;
  r.inode.size = 3;
  r.inode.nlink = 1;
  r.inode.nbytes = kNodeSize;
  r.inode.mode = S_IFDIR | 0755;
  r.generation = kGeneration;
  r.root_dirid = root_dirid;
  r.bytenr = bytenr;
  r.bytes_used = kNodeSize;
  r.refs = 1;
  r.generation_v2 = kGeneration;
  return r;
}

std::vector<uint8_t> named(const InodeRef& fixed, std::string_view name) { return with_name(fixed, name); }

InodeRef inode_ref(size_t name_len) {
  InodeRef r{};
  r.name_len = static_cast<uint16_t>(name_len);
  return r;
}

// A chunk item with its stripes, as stored in the chunk tree and the superblock's sys array.
std::vector<uint8_t> chunk_item(const ChunkPlan& c, const std::vector<Uuid>& dev_uuids) {
  Chunk ch{};
  ch.length = c.length;
  ch.owner = BTRFS_EXTENT_TREE_OBJECTID;
  ch.stripe_len = kStripeLen;
  ch.type = c.type;
  ch.io_align = kStripeLen;
  ch.io_width = kStripeLen;
  ch.sector_size = kSectorSize;
  ch.num_stripes = static_cast<uint16_t>(c.stripes.size());
  ch.sub_stripes = 1;
  std::vector<uint8_t> out(sizeof ch + c.stripes.size() * sizeof(Stripe));
  std::memcpy(out.data(), &ch, sizeof ch);
  for (size_t i = 0; i < c.stripes.size(); ++i) {
    Stripe s{};
    s.devid = c.stripes[i].dev_index + 1;
    s.offset = c.stripes[i].physical;
    std::memcpy(s.dev_uuid, dev_uuids[c.stripes[i].dev_index].data(), 16);
    std::memcpy(out.data() + sizeof ch + i * sizeof s, &s, sizeof s);
  }
  return out;
}

DevItem dev_item(size_t index, const ChunkLayout& L, const Uuid& dev_uuid, const Uuid& fsid) {
  DevItem d{};
  d.devid = index + 1;
  d.total_bytes = L.dev_total_bytes[index];
  d.bytes_used = L.dev_bytes_used[index];
  d.io_align = kSectorSize;
  d.io_width = kSectorSize;
  d.sector_size = kSectorSize;
  std::memcpy(d.uuid, dev_uuid.data(), 16);
  std::memcpy(d.fsid, fsid.data(), 16);
  return d;
}

// Every tree block of the new filesystem, by owner tree.
struct TreeBlocks {
  uint64_t chunk = 0;
  std::map<uint64_t, uint64_t> in_metadata;  // owner objectid -> logical bytenr
};

constexpr uint64_t kMetadataTrees[] = {BTRFS_ROOT_TREE_OBJECTID, BTRFS_EXTENT_TREE_OBJECTID,
                                       BTRFS_DEV_TREE_OBJECTID,  BTRFS_FS_TREE_OBJECTID,
                                       BTRFS_CSUM_TREE_OBJECTID, BTRFS_UUID_TREE_OBJECTID,
                                       BTRFS_FREE_SPACE_TREE_OBJECTID, kDataRelocObjectid};

void add_free_space(LeafBuilder& fst, const ChunkPlan& c, std::vector<uint64_t> used) {
  std::sort(used.begin(), used.end());
  std::vector<std::pair<uint64_t, uint64_t>> free;
  uint64_t at = c.logical;
  for (uint64_t b : used) {
    if (b > at) free.push_back({at, b - at});
    at = b + kNodeSize;
  }
  if (at < c.logical + c.length) free.push_back({at, c.logical + c.length - at});
  FreeSpaceInfo info{};
  info.extent_count = static_cast<uint32_t>(free.size());
  fst.add(Key{c.logical, BTRFS_FREE_SPACE_INFO_KEY, c.length}, info);
  for (auto [start, len] : free) fst.add_empty(Key{start, BTRFS_FREE_SPACE_EXTENT_KEY, len});
}

}  // namespace

std::vector<io::WritePlan> plan_mkfs(const BtrfsOptions& o, const std::vector<BtrfsDevice>& devices) {
  const Request req = validate(o, devices);
  const ChunkLayout L = allocate_chunks(req.sizes, req.metadata, req.data);

  const Uuid fsid = o.fsid ? *o.fsid : random_uuid();
  std::vector<Uuid> dev_uuids;
  for (size_t i = 0; i < devices.size(); ++i) dev_uuids.push_back(o.dev_uuids ? (*o.dev_uuids)[i] : random_uuid());
  const Uuid chunk_tree_uuid = random_uuid();
  const Uuid fs_tree_uuid = random_uuid();
  const uint64_t now = o.now_seconds ? o.now_seconds : static_cast<uint64_t>(std::time(nullptr));
  const NodeIdentity id{fsid, chunk_tree_uuid, kGeneration};

  TreeBlocks blocks;
  blocks.chunk = tree_block_slots(L.system, 1, kNodeSize)[0];
  auto meta_slots = tree_block_slots(L.metadata, std::size(kMetadataTrees), kNodeSize);
  for (size_t i = 0; i < std::size(kMetadataTrees); ++i) blocks.in_metadata[kMetadataTrees[i]] = meta_slots[i];
  auto at = [&](uint64_t owner) { return blocks.in_metadata.at(owner); };

  // Chunk tree: device items and chunk items.
  LeafBuilder chunk_tree(BTRFS_CHUNK_TREE_OBJECTID);
  for (size_t i = 0; i < devices.size(); ++i)
    chunk_tree.add(Key{BTRFS_DEV_ITEMS_OBJECTID, BTRFS_DEV_ITEM_KEY, i + 1}, dev_item(i, L, dev_uuids[i], fsid));
  for (auto* c : {&L.system, &L.metadata, &L.data}) {
    auto item = chunk_item(*c, dev_uuids);
    chunk_tree.add(Key{BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, c->logical}, item.data(), item.size());
  }

  // Dev tree: one dev extent per stripe.
  LeafBuilder dev_tree(BTRFS_DEV_TREE_OBJECTID);
  for (auto* c : {&L.system, &L.metadata, &L.data})
    for (auto& s : c->stripes) {
      DevExtent e{};
      e.chunk_tree = BTRFS_CHUNK_TREE_OBJECTID;
      e.chunk_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
      e.chunk_offset = c->logical;
      e.length = c->length;
      std::memcpy(e.chunk_tree_uuid, chunk_tree_uuid.data(), 16);
      dev_tree.add(Key{s.dev_index + 1, BTRFS_DEV_EXTENT_KEY, s.physical}, e);
    }

  // Extent tree: block groups and a skinny metadata item per tree block.
  LeafBuilder extent_tree(BTRFS_EXTENT_TREE_OBJECTID);
  auto add_tree_block_ref = [&](uint64_t bytenr, uint64_t owner) {
    struct {
      ExtentItem e;
      TreeBlockInlineRef ref;
    } __attribute__((packed)) item{};
    item.e.refs = 1;
    item.e.generation = kGeneration;
    item.e.flags = BTRFS_EXTENT_FLAG_TREE_BLOCK;
    item.ref.type = BTRFS_TREE_BLOCK_REF_KEY;
    item.ref.root = owner;
    extent_tree.add(Key{bytenr, BTRFS_METADATA_ITEM_KEY, 0}, item);
  };
  add_tree_block_ref(blocks.chunk, BTRFS_CHUNK_TREE_OBJECTID);
  for (auto [owner, bytenr] : blocks.in_metadata) add_tree_block_ref(bytenr, owner);
  auto add_block_group = [&](const ChunkPlan& c, uint64_t used) {
    BlockGroupItem bg{};
    bg.used = used;
    bg.chunk_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
    bg.flags = c.type;
    extent_tree.add(Key{c.logical, BTRFS_BLOCK_GROUP_ITEM_KEY, c.length}, bg);
  };
  add_block_group(L.system, kNodeSize);
  add_block_group(L.metadata, kNodeSize * blocks.in_metadata.size());
  add_block_group(L.data, 0);

  // Free space tree: every block group minus its tree blocks, as extents.
  LeafBuilder fst(BTRFS_FREE_SPACE_TREE_OBJECTID);
  add_free_space(fst, L.system, {blocks.chunk});
  add_free_space(fst, L.metadata, meta_slots);
  add_free_space(fst, L.data, {});

  // FS tree and data reloc tree: a root directory (inode 256) that is its own parent.
  LeafBuilder fs_tree(BTRFS_FS_TREE_OBJECTID);
  fs_tree.add(Key{kFirstFreeObjectid, BTRFS_INODE_ITEM_KEY, 0}, dir_inode(kNodeSize, now, true));
  fs_tree.add(Key{kFirstFreeObjectid, BTRFS_INODE_REF_KEY, kFirstFreeObjectid}, named(inode_ref(2), ".."));
  LeafBuilder reloc_tree(kDataRelocObjectid);
  reloc_tree.add(Key{kFirstFreeObjectid, BTRFS_INODE_ITEM_KEY, 0}, dir_inode(0, now, false));
  reloc_tree.add(Key{kFirstFreeObjectid, BTRFS_INODE_REF_KEY, kFirstFreeObjectid}, named(inode_ref(2), ".."));

  LeafBuilder csum_tree(BTRFS_CSUM_TREE_OBJECTID);

  // UUID tree: the FS tree's subvolume UUID -> subvolume id 5.
  LeafBuilder uuid_tree(BTRFS_UUID_TREE_OBJECTID);
  {
    le64 subvol{};
    subvol = BTRFS_FS_TREE_OBJECTID;
    uuid_tree.add(Key{load_le64(fs_tree_uuid.data()), BTRFS_UUID_KEY_SUBVOL, load_le64(fs_tree_uuid.data() + 8)}, subvol);
  }

  // Root tree: root items, and directory 6 whose "default" entry names the FS tree.
  LeafBuilder root_tree(BTRFS_ROOT_TREE_OBJECTID);
  for (uint64_t owner : kMetadataTrees) {
    if (owner == BTRFS_ROOT_TREE_OBJECTID) continue;
    bool has_dir = owner == BTRFS_FS_TREE_OBJECTID || owner == kDataRelocObjectid;
    RootItem r = root_item(at(owner), has_dir ? kFirstFreeObjectid : 0);
    if (owner == BTRFS_FS_TREE_OBJECTID) {
      std::memcpy(r.uuid, fs_tree_uuid.data(), 16);
      r.ctime = r.otime = ts(now);
    }
    root_tree.add(Key{owner, BTRFS_ROOT_ITEM_KEY, 0}, r);
  }
  static constexpr std::string_view kDefault = "default";
  {
    auto ref = named(inode_ref(kDefault.size()), kDefault);
    root_tree.add(Key{BTRFS_FS_TREE_OBJECTID, BTRFS_INODE_REF_KEY, kRootTreeDirObjectid}, ref.data(), ref.size());
    root_tree.add(Key{kRootTreeDirObjectid, BTRFS_INODE_ITEM_KEY, 0}, dir_inode(kNodeSize, now, true));
    auto dotdot = named(inode_ref(2), "..");
    root_tree.add(Key{kRootTreeDirObjectid, BTRFS_INODE_REF_KEY, kRootTreeDirObjectid}, dotdot.data(), dotdot.size());
    DirItem di{};
    di.location = to_disk(Key{BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, ~0ull});
    di.name_len = static_cast<uint16_t>(kDefault.size());
    di.type = kFtDir;
    auto dir = with_name(di, kDefault);
    root_tree.add(Key{kRootTreeDirObjectid, BTRFS_DIR_ITEM_KEY, name_hash(kDefault.data(), kDefault.size())},
                  dir.data(), dir.size());
  }

  // Serialize: the chunk leaf alone, metadata leaves in runs of adjacent slots.
  std::vector<uint8_t> chunk_leaf(kNodeSize);
  chunk_tree.write(chunk_leaf.data(), blocks.chunk, id);
  std::map<uint64_t, const LeafBuilder*> by_owner = {
      {BTRFS_ROOT_TREE_OBJECTID, &root_tree},   {BTRFS_EXTENT_TREE_OBJECTID, &extent_tree},
      {BTRFS_DEV_TREE_OBJECTID, &dev_tree},     {BTRFS_FS_TREE_OBJECTID, &fs_tree},
      {BTRFS_CSUM_TREE_OBJECTID, &csum_tree},   {BTRFS_UUID_TREE_OBJECTID, &uuid_tree},
      {BTRFS_FREE_SPACE_TREE_OBJECTID, &fst},   {kDataRelocObjectid, &reloc_tree}};
  struct Run {
    uint64_t logical;
    std::vector<uint8_t> bytes;
  };
  std::vector<Run> runs;
  for (size_t i = 0; i < meta_slots.size(); ++i) {
    uint64_t bytenr = meta_slots[i];
    if (runs.empty() || runs.back().logical + runs.back().bytes.size() != bytenr) runs.push_back({bytenr, {}});
    auto& bytes = runs.back().bytes;
    bytes.resize(bytes.size() + kNodeSize);
    by_owner.at(kMetadataTrees[i])->write(bytes.data() + bytes.size() - kNodeSize, bytenr, id);
  }

  // Superblock shared by all devices; dev_item and bytenr differ per copy.
  SuperBlock sb{};
  std::memcpy(sb.fsid, fsid.data(), 16);
  sb.flags = kHeaderFlagWritten;
  sb.magic = kMagic;
  sb.generation = kGeneration;
  sb.root = at(BTRFS_ROOT_TREE_OBJECTID);
  sb.chunk_root = blocks.chunk;
  uint64_t total = 0;
  for (uint64_t t : L.dev_total_bytes) total += t;
  sb.total_bytes = total;
  sb.bytes_used = kNodeSize * (1 + blocks.in_metadata.size());
  sb.root_dir_objectid = kRootTreeDirObjectid;
  sb.num_devices = devices.size();
  sb.sectorsize = kSectorSize;
  sb.nodesize = kNodeSize;
  sb.unused_leafsize = kNodeSize;
  sb.stripesize = kSectorSize;
  sb.chunk_root_generation = kGeneration;
  sb.compat_ro_flags = kCompatRoFreeSpaceTree | kCompatRoFreeSpaceTreeValid;
  sb.incompat_flags = kIncompatMixedBackref | kIncompatExtendedIref | kIncompatSkinnyMetadata | kIncompatNoHoles;
  sb.csum_type = BTRFS_CSUM_TYPE_CRC32;
  std::memcpy(sb.label, o.label.data(), o.label.size());
  sb.uuid_tree_generation = kGeneration;
  {
    DiskKey k = to_disk(Key{BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, L.system.logical});
    auto item = chunk_item(L.system, dev_uuids);
    std::memcpy(sb.sys_chunk_array, &k, sizeof k);
    std::memcpy(sb.sys_chunk_array + sizeof k, item.data(), item.size());
    sb.sys_chunk_array_size = static_cast<uint32_t>(sizeof k + item.size());
  }
  RootBackup& b = sb.super_roots[0];
  b.tree_root = at(BTRFS_ROOT_TREE_OBJECTID);
  b.chunk_root = blocks.chunk;
  b.extent_root = at(BTRFS_EXTENT_TREE_OBJECTID);
  b.fs_root = at(BTRFS_FS_TREE_OBJECTID);
  b.dev_root = at(BTRFS_DEV_TREE_OBJECTID);
  b.csum_root = at(BTRFS_CSUM_TREE_OBJECTID);
  b.tree_root_gen = b.chunk_root_gen = b.extent_root_gen = b.fs_root_gen = b.dev_root_gen = b.csum_root_gen =
      kGeneration;
  b.total_bytes = sb.total_bytes;
  b.bytes_used = sb.bytes_used;
  b.num_devices = sb.num_devices;

  std::vector<io::WritePlan> plans;
  for (size_t d = 0; d < devices.size(); ++d) {
    io::WritePlan plan{"btrfs", {}};
    const uint64_t dev_total = L.dev_total_bytes[d];
    const std::string dev_name = "device " + std::to_string(d + 1);

    // Wipe like mkfs.btrfs: the reserved first MiB (old superblock, boot sectors, partition
    // tables) and the last 2 MiB (md 0.90/1.0 superblocks, GPT backup) where nothing of ours lives.
    auto& wipe = plan.step("wipe");
    wipe.zeroes.push_back({0, MiB, "first MiB (old signatures)"});
    uint64_t tail = std::max(L.dev_allocated_end[d], dev_total > 2 * MiB ? dev_total - 2 * MiB : 0);
    if (tail < devices[d].size_bytes)
      wipe.zeroes.push_back({tail, devices[d].size_bytes - tail, "last 2 MiB (old signatures)"});

    auto& trees = plan.step("trees");
    for (auto& s : L.system.stripes)
      if (s.dev_index == d)
        trees.writes.push_back({s.physical + (blocks.chunk - L.system.logical), chunk_leaf, "chunk tree leaf"});
    for (auto& s : L.metadata.stripes)
      if (s.dev_index == d)
        for (auto& r : runs)
          trees.writes.push_back({s.physical + (r.logical - L.metadata.logical), r.bytes,
                                  "tree leaves (root, extent, dev, fs, csum, uuid, free space, data reloc)"});

    SuperBlock dsb = sb;
    dsb.dev_item = dev_item(d, L, dev_uuids[d], fsid);
    auto super_copy = [&](uint64_t offset) {
      dsb.bytenr = offset;
      std::vector<uint8_t> bytes(sizeof dsb);
      std::memcpy(bytes.data(), &dsb, sizeof dsb);
      store_le32(bytes.data(), block_csum(bytes.data(), bytes.size()));
      return bytes;
    };
    auto mirrors = super_mirrors_for(dev_total);
    auto& mirror_step = plan.step("super-mirrors");
    for (uint64_t m : mirrors)
      if (m != kSuperOffset)
        mirror_step.writes.push_back({m, super_copy(m), "superblock mirror at " + std::to_string(m)});
    auto& primary = plan.step("super");
    primary.writes.push_back({kSuperOffset, super_copy(kSuperOffset), "primary superblock (" + dev_name + ")"});
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace mos::fsmake::btrfs
