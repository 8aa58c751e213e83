#include "fsmake/btrfs_trees.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "base/error.hpp"

namespace mos::fsmake::btrfs {
namespace {

constexpr std::string_view kDefaultSubvolName = "default";

Timespec ts(uint64_t sec) {
  Timespec t{};
  t.sec = sec;
  return t;
}

// Directory inode as mkfs.btrfs writes it (the FS root claims one node in nbytes).
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

std::vector<uint8_t> inode_ref(std::string_view name) {
  InodeRef r{};
  r.name_len = static_cast<uint16_t>(name.size());
  return with_name(r, name);
}

std::vector<const ChunkPlan*> chunks(const FreshFs& fs) {
  return {&fs.layout.system, &fs.layout.metadata, &fs.layout.data};
}

LeafBuilder chunk_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_CHUNK_TREE_OBJECTID);
  for (size_t i = 0; i < fs.dev_uuids.size(); ++i)
    t.add(Key{BTRFS_DEV_ITEMS_OBJECTID, BTRFS_DEV_ITEM_KEY, i + 1}, dev_item_for(fs, i));
  for (auto* c : chunks(fs))
    t.add(Key{BTRFS_FIRST_CHUNK_TREE_OBJECTID, BTRFS_CHUNK_ITEM_KEY, c->logical}, chunk_item_bytes(*c, fs.dev_uuids));
  return t;
}

LeafBuilder dev_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_DEV_TREE_OBJECTID);
  for (auto* c : chunks(fs))
    for (auto& s : c->stripes) {
      DevExtent e{};
      e.chunk_tree = BTRFS_CHUNK_TREE_OBJECTID;
      e.chunk_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
      e.chunk_offset = c->logical;
      e.length = c->length;
      std::memcpy(e.chunk_tree_uuid, fs.chunk_tree_uuid.data(), 16);
      t.add(Key{s.dev_index + 1, BTRFS_DEV_EXTENT_KEY, s.physical}, e);
    }
  return t;
}

// Tree blocks inside chunk c, sorted.
std::vector<uint64_t> blocks_in(const FreshFs& fs, const ChunkPlan& c) {
  std::vector<uint64_t> out;
  auto inside = [&](uint64_t b) { return b >= c.logical && b < c.logical + c.length; };
  if (inside(fs.chunk_block)) out.push_back(fs.chunk_block);
  for (auto& [owner, b] : fs.tree_block)
    if (inside(b)) out.push_back(b);
  std::sort(out.begin(), out.end());
  return out;
}

LeafBuilder extent_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_EXTENT_TREE_OBJECTID);
#pragma pack(push, 1)
  struct SkinnyTreeBlock {
    ExtentItem extent;
    TreeBlockInlineRef ref;
  };
#pragma pack(pop)
  auto add_tree_block = [&](uint64_t bytenr, uint64_t owner) {
    SkinnyTreeBlock item{};
    item.extent.refs = 1;
    item.extent.generation = kGeneration;
    item.extent.flags = BTRFS_EXTENT_FLAG_TREE_BLOCK;
    item.ref.type = BTRFS_TREE_BLOCK_REF_KEY;
    item.ref.root = owner;
    t.add(Key{bytenr, BTRFS_METADATA_ITEM_KEY, 0 /* level */}, item);
  };
  add_tree_block(fs.chunk_block, BTRFS_CHUNK_TREE_OBJECTID);
  for (auto& [owner, bytenr] : fs.tree_block) add_tree_block(bytenr, owner);
  for (auto* c : chunks(fs)) {
    BlockGroupItem bg{};
    bg.used = kNodeSize * blocks_in(fs, *c).size();
    bg.chunk_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
    bg.flags = c->type;
    t.add(Key{c->logical, BTRFS_BLOCK_GROUP_ITEM_KEY, c->length}, bg);
  }
  return t;
}

// Each block group's free space as extents: its range minus its tree blocks. Like the kernel's
// own block-group creation, superblock mirror stripes are not subtracted here; the kernel
// excludes them when it loads the tree.
LeafBuilder free_space_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_FREE_SPACE_TREE_OBJECTID);
  for (auto* c : chunks(fs)) {
    std::vector<std::pair<uint64_t, uint64_t>> free;
    uint64_t at = c->logical;
    for (uint64_t b : blocks_in(fs, *c)) {
      if (b > at) free.push_back({at, b - at});
      at = b + kNodeSize;
    }
    if (at < c->logical + c->length) free.push_back({at, c->logical + c->length - at});
    FreeSpaceInfo info{};
    info.extent_count = static_cast<uint32_t>(free.size());
    t.add(Key{c->logical, BTRFS_FREE_SPACE_INFO_KEY, c->length}, info);
    for (auto [start, len] : free) t.add_empty(Key{start, BTRFS_FREE_SPACE_EXTENT_KEY, len});
  }
  return t;
}

// FS tree and data reloc tree: a root directory (inode 256) that is its own parent.
LeafBuilder root_dir_tree(uint64_t owner, uint64_t nbytes, uint64_t now, bool with_otime) {
  LeafBuilder t(owner);
  t.add(Key{kFirstFreeObjectid, BTRFS_INODE_ITEM_KEY, 0}, dir_inode(nbytes, now, with_otime));
  t.add(Key{kFirstFreeObjectid, BTRFS_INODE_REF_KEY, kFirstFreeObjectid}, inode_ref(".."));
  return t;
}

// UUID tree: the FS tree's subvolume UUID -> subvolume id 5.
LeafBuilder uuid_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_UUID_TREE_OBJECTID);
  le64 subvol{};
  subvol = BTRFS_FS_TREE_OBJECTID;
  t.add(Key{load_le64(fs.fs_tree_uuid.data()), BTRFS_UUID_KEY_SUBVOL, load_le64(fs.fs_tree_uuid.data() + 8)}, subvol);
  return t;
}

RootItem root_item(const FreshFs& fs, uint64_t owner) {
  RootItem r{};
  r.inode.generation = 1;
  r.inode.size = 3;
  r.inode.nlink = 1;
  r.inode.nbytes = kNodeSize;
  r.inode.mode = S_IFDIR | 0755;
  r.generation = kGeneration;
  r.root_dirid = (owner == BTRFS_FS_TREE_OBJECTID || owner == kDataRelocObjectid) ? kFirstFreeObjectid : 0;
  r.bytenr = fs.tree_block.at(owner);
  r.bytes_used = kNodeSize;
  r.refs = 1;
  r.generation_v2 = kGeneration;
  if (owner == BTRFS_FS_TREE_OBJECTID) {
    std::memcpy(r.uuid, fs.fs_tree_uuid.data(), 16);
    r.ctime = r.otime = ts(fs.now);
  }
  return r;
}

// Root tree: a root item per tree, and directory 6 whose "default" entry names the FS tree
// (the subvolume mounted when none is asked for).
LeafBuilder root_tree(const FreshFs& fs) {
  LeafBuilder t(BTRFS_ROOT_TREE_OBJECTID);
  for (uint64_t owner : kMetadataTrees)
    if (owner != BTRFS_ROOT_TREE_OBJECTID) t.add(Key{owner, BTRFS_ROOT_ITEM_KEY, 0}, root_item(fs, owner));
  t.add(Key{BTRFS_FS_TREE_OBJECTID, BTRFS_INODE_REF_KEY, kRootTreeDirObjectid}, inode_ref(kDefaultSubvolName));
  t.add(Key{kRootTreeDirObjectid, BTRFS_INODE_ITEM_KEY, 0}, dir_inode(kNodeSize, fs.now, true));
  t.add(Key{kRootTreeDirObjectid, BTRFS_INODE_REF_KEY, kRootTreeDirObjectid}, inode_ref(".."));
  DirItem di{};
  di.location = to_disk(Key{BTRFS_FS_TREE_OBJECTID, BTRFS_ROOT_ITEM_KEY, ~0ull});
  di.name_len = static_cast<uint16_t>(kDefaultSubvolName.size());
  di.type = kFtDir;
  t.add(Key{kRootTreeDirObjectid, BTRFS_DIR_ITEM_KEY, name_hash(kDefaultSubvolName.data(), kDefaultSubvolName.size())},
        with_name(di, kDefaultSubvolName));
  return t;
}

}  // namespace

std::vector<uint8_t> chunk_item_bytes(const ChunkPlan& c, const std::vector<Uuid>& dev_uuids) {
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

DevItem dev_item_for(const FreshFs& fs, size_t i) {
  DevItem d{};
  d.devid = i + 1;
  d.total_bytes = fs.layout.dev_total_bytes[i];
  d.bytes_used = fs.layout.dev_bytes_used[i];
  d.io_align = kSectorSize;
  d.io_width = kSectorSize;
  d.sector_size = kSectorSize;
  std::memcpy(d.uuid, fs.dev_uuids[i].data(), 16);
  std::memcpy(d.fsid, fs.fsid.data(), 16);
  return d;
}

LeafBuilder build_tree(const FreshFs& fs, uint64_t owner) {
  switch (owner) {
    case BTRFS_CHUNK_TREE_OBJECTID: return chunk_tree(fs);
    case BTRFS_ROOT_TREE_OBJECTID: return root_tree(fs);
    case BTRFS_EXTENT_TREE_OBJECTID: return extent_tree(fs);
    case BTRFS_DEV_TREE_OBJECTID: return dev_tree(fs);
    case BTRFS_FS_TREE_OBJECTID: return root_dir_tree(owner, kNodeSize, fs.now, true);
    case BTRFS_CSUM_TREE_OBJECTID: return LeafBuilder(owner);
    case BTRFS_UUID_TREE_OBJECTID: return uuid_tree(fs);
    case BTRFS_FREE_SPACE_TREE_OBJECTID: return free_space_tree(fs);
    case kDataRelocObjectid: return root_dir_tree(owner, 0, fs.now, false);
  }
  throw Error(ErrorCode::internal, "no builder for btrfs tree " + std::to_string(owner));
}

}  // namespace mos::fsmake::btrfs
