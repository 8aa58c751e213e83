#include "fsmake/readers/btrfs_read.hpp"

#include <linux/btrfs_tree.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "fsmake/btrfs_chunks.hpp"
#include "base/error.hpp"

namespace mos::fsmake::btrfs {
namespace {

constexpr uint64_t kDataRelocObjectid = static_cast<uint64_t>(BTRFS_DATA_RELOC_TREE_OBJECTID);

template <typename T>
T load(const std::vector<uint8_t>& v, size_t at = 0) {
  if (at + sizeof(T) > v.size()) throw_validation("btrfs item too short for its type");
  T t;
  std::memcpy(&t, v.data() + at, sizeof t);
  return t;
}

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "%llu", static_cast<unsigned long long>(v));
  return b;
}

std::vector<ChunkMapEntry::Stripe> stripes_of(const uint8_t* p, uint16_t n) {
  std::vector<ChunkMapEntry::Stripe> out;
  for (uint16_t i = 0; i < n; ++i) {
    Stripe s;
    std::memcpy(&s, p + i * sizeof(Stripe), sizeof s);
    out.push_back({s.devid.get(), s.offset.get()});
  }
  return out;
}

ChunkMapEntry chunk_from_item(uint64_t logical, const std::vector<uint8_t>& data) {
  auto c = load<Chunk>(data);
  if (c.num_stripes == 0 || sizeof(Chunk) + c.num_stripes * sizeof(Stripe) != data.size())
    throw_validation("btrfs chunk item at " + hex(logical) + " has a bad stripe count");
  return ChunkMapEntry{logical, c.length.get(), c.type.get(), stripes_of(data.data() + sizeof(Chunk), c.num_stripes)};
}

bool same_chunk(const ChunkMapEntry& a, const ChunkMapEntry& b) {
  if (a.logical != b.logical || a.length != b.length || a.type != b.type || a.stripes.size() != b.stripes.size())
    return false;
  for (size_t i = 0; i < a.stripes.size(); ++i)
    if (a.stripes[i].devid != b.stripes[i].devid || a.stripes[i].physical != b.stripes[i].physical) return false;
  return true;
}

class Reader {
 public:
  Reader(std::map<uint64_t, ReadFn> by_devid, const SuperBlock& sb, std::vector<std::string>& problems)
      : devs_(std::move(by_devid)), sb_(sb), problems_(problems) {}

  void set_chunks(std::vector<ChunkMapEntry> c) { chunks_ = std::move(c); }

  // Reads every copy of the leaf at logical; each must parse and be byte-identical.
  Leaf leaf(uint64_t logical, uint64_t owner) {
    const uint32_t ns = sb_.nodesize;
    const ChunkMapEntry* c = nullptr;
    for (auto& e : chunks_)
      if (logical >= e.logical && logical + ns <= e.logical + e.length) c = &e;
    if (!c) throw_validation("btrfs tree block " + hex(logical) + " (tree " + hex(owner) + ") is outside every chunk");
    std::vector<uint8_t> first;
    Leaf out;
    for (size_t i = 0; i < c->stripes.size(); ++i) {
      auto dev = devs_.find(c->stripes[i].devid);
      if (dev == devs_.end()) throw_validation("btrfs chunk stripe on missing devid " + hex(c->stripes[i].devid));
      auto bytes = dev->second(c->stripes[i].physical + (logical - c->logical), ns);
      Leaf l = parse_leaf(bytes.data(), ns, logical, sb_.fsid);
      if (l.header.owner != owner)
        problems_.push_back("tree block " + hex(logical) + " owner " + hex(l.header.owner) + ", expected " + hex(owner));
      if (l.header.generation > sb_.generation)
        problems_.push_back("tree block " + hex(logical) + " is newer than the superblock");
      if (i == 0) {
        first = bytes;
        out = std::move(l);
      } else if (bytes != first) {
        problems_.push_back("tree block " + hex(logical) + " copy " + std::to_string(i) + " differs from copy 0");
      }
    }
    return out;
  }

 private:
  std::map<uint64_t, ReadFn> devs_;
  const SuperBlock& sb_;
  std::vector<std::string>& problems_;
  std::vector<ChunkMapEntry> chunks_;
};

void check_extents_and_block_groups(Inspection& r, const std::set<uint64_t>& tree_blocks,
                                    const std::map<uint64_t, uint64_t>& block_owner) {
  auto& P = r.problems;
  const Leaf& ext = r.leaves.at(BTRFS_EXTENT_TREE_OBJECTID);
  std::map<uint64_t, uint64_t> meta_items;  // bytenr -> owner from the inline ref
  std::map<uint64_t, BlockGroupItem> bgs;
  for (auto& it : ext.items) {
    if (it.key.type == BTRFS_METADATA_ITEM_KEY) {
      auto e = load<ExtentItem>(it.data);
      auto ref = load<TreeBlockInlineRef>(it.data, sizeof(ExtentItem));
      if (!(e.flags.get() & BTRFS_EXTENT_FLAG_TREE_BLOCK) || ref.type != BTRFS_TREE_BLOCK_REF_KEY || e.refs != 1)
        P.push_back("metadata item " + hex(it.key.objectid) + " is not a single-ref tree block");
      meta_items[it.key.objectid] = ref.root;
    } else if (it.key.type == BTRFS_EXTENT_ITEM_KEY) {
      P.push_back("unexpected extent item at " + hex(it.key.objectid) + " in a fresh filesystem");
    } else if (it.key.type == BTRFS_BLOCK_GROUP_ITEM_KEY) {
      bgs[it.key.objectid] = load<BlockGroupItem>(it.data);
      if (bgs[it.key.objectid].chunk_objectid != BTRFS_FIRST_CHUNK_TREE_OBJECTID)
        P.push_back("block group " + hex(it.key.objectid) + " has a bad chunk objectid");
    }
  }
  for (uint64_t b : tree_blocks) {
    auto m = meta_items.find(b);
    if (m == meta_items.end()) P.push_back("tree block " + hex(b) + " has no extent item");
    else if (m->second != block_owner.at(b)) P.push_back("extent item " + hex(b) + " names the wrong root");
  }
  if (meta_items.size() != tree_blocks.size()) P.push_back("extent tree lists tree blocks nobody uses");

  uint64_t used_total = 0;
  for (auto& c : r.chunks) {
    auto bg = bgs.find(c.logical);
    if (bg == bgs.end()) {
      P.push_back("chunk " + hex(c.logical) + " has no block group item");
      continue;
    }
    uint64_t used = 0;
    for (uint64_t b : tree_blocks)
      if (b >= c.logical && b < c.logical + c.length) used += r.super.nodesize;
    if (bg->second.flags != c.type) P.push_back("block group " + hex(c.logical) + " flags differ from its chunk");
    if (bg->second.used != used)
      P.push_back("block group " + hex(c.logical) + " used " + hex(bg->second.used) + ", tree blocks " + hex(used));
    used_total += bg->second.used;
  }
  if (bgs.size() != r.chunks.size()) P.push_back("block group items and chunks differ in number");
  if (r.super.bytes_used != used_total) P.push_back("superblock bytes_used differs from the block groups");

  // Free space tree: each block group's free extents are its range minus its tree blocks.
  if (!(r.super.compat_ro_flags.get() & kCompatRoFreeSpaceTree)) return;
  const Leaf& fst = r.leaves.at(BTRFS_FREE_SPACE_TREE_OBJECTID);
  for (auto& c : r.chunks) {
    std::vector<std::pair<uint64_t, uint64_t>> want, got;
    uint64_t at = c.logical;
    for (uint64_t b : tree_blocks)
      if (b >= c.logical && b < c.logical + c.length) {
        if (b > at) want.push_back({at, b - at});
        at = b + r.super.nodesize;
      }
    if (at < c.logical + c.length) want.push_back({at, c.logical + c.length - at});
    bool have_info = false;
    uint32_t count = 0;
    for (auto& it : fst.items) {
      if (it.key.type == BTRFS_FREE_SPACE_INFO_KEY && it.key.objectid == c.logical && it.key.offset == c.length) {
        auto info = load<FreeSpaceInfo>(it.data);
        have_info = true;
        count = info.extent_count;
        if (info.flags != 0) P.push_back("free space info " + hex(c.logical) + " uses bitmaps");
      }
      if (it.key.type == BTRFS_FREE_SPACE_EXTENT_KEY && it.key.objectid >= c.logical &&
          it.key.objectid < c.logical + c.length)
        got.push_back({it.key.objectid, it.key.offset});
    }
    if (!have_info) P.push_back("block group " + hex(c.logical) + " has no free space info");
    if (got != want || count != got.size())
      P.push_back("free space tree of block group " + hex(c.logical) + " does not match its tree blocks");
  }
}

void check_dev_extents(Inspection& r, const std::map<uint64_t, DevItem>& dev_items) {
  std::map<std::pair<uint64_t, uint64_t>, DevExtent> extents;
  for (auto& it : r.leaves.at(BTRFS_DEV_TREE_OBJECTID).items)
    if (it.key.type == BTRFS_DEV_EXTENT_KEY) extents[{it.key.objectid, it.key.offset}] = load<DevExtent>(it.data);
  size_t stripes = 0;
  std::map<uint64_t, uint64_t> used;
  for (auto& c : r.chunks)
    for (auto& s : c.stripes) {
      ++stripes;
      auto e = extents.find({s.devid, s.physical});
      if (e == extents.end() || e->second.chunk_offset != c.logical || e->second.length != c.length)
        r.problems.push_back("stripe of chunk " + hex(c.logical) + " on devid " + hex(s.devid) + " has no matching dev extent");
      used[s.devid] += c.length;
      if (dev_items.count(s.devid) && s.physical + c.length > dev_items.at(s.devid).total_bytes)
        r.problems.push_back("stripe of chunk " + hex(c.logical) + " runs past its device");
    }
  if (extents.size() != stripes) r.problems.push_back("dev tree has dev extents without chunk stripes");
  for (auto& [devid, d] : dev_items)
    if (d.bytes_used != used[devid]) r.problems.push_back("dev item " + hex(devid) + " bytes_used differs from its extents");
}

void check_root_dir(Inspection& r, uint64_t owner) {
  const Leaf& l = r.leaves.at(owner);
  bool dir = false, ref = false;
  for (auto& it : l.items) {
    if (it.key == Key{kFirstFreeObjectid, BTRFS_INODE_ITEM_KEY, 0}) dir = S_ISDIR(load<InodeItem>(it.data).mode.get());
    if (it.key == Key{kFirstFreeObjectid, BTRFS_INODE_REF_KEY, kFirstFreeObjectid}) ref = true;
  }
  if (!dir || !ref) r.problems.push_back("tree " + hex(owner) + " lacks its root directory inode 256");
}

}  // namespace

std::vector<ChunkMapEntry> parse_sys_chunk_array(const SuperBlock& sb) {
  std::vector<ChunkMapEntry> out;
  const uint8_t* p = sb.sys_chunk_array;
  size_t pos = 0, end = sb.sys_chunk_array_size;
  while (pos < end) {
    if (pos + sizeof(DiskKey) + sizeof(Chunk) > end) throw_validation("btrfs sys chunk array truncated");
    DiskKey k;
    Chunk c;
    std::memcpy(&k, p + pos, sizeof k);
    std::memcpy(&c, p + pos + sizeof k, sizeof c);
    if (k.type != BTRFS_CHUNK_ITEM_KEY) throw_validation("btrfs sys chunk array holds a non-chunk key");
    size_t len = sizeof(Chunk) + c.num_stripes * sizeof(Stripe);
    if (c.num_stripes == 0 || pos + sizeof k + len > end) throw_validation("btrfs sys chunk array stripe overflow");
    std::vector<uint8_t> data(p + pos + sizeof k, p + pos + sizeof k + len);
    out.push_back(chunk_from_item(k.offset, data));
    pos += sizeof k + len;
  }
  return out;
}

Leaf parse_leaf(const uint8_t* block, uint32_t nodesize, uint64_t bytenr, const uint8_t fsid[16]) {
  const std::string where = "btrfs tree block " + hex(bytenr);
  if (load_le32(block) != block_csum(block, nodesize)) throw_validation(where + ": bad checksum");
  Leaf l;
  std::memcpy(&l.header, block, sizeof(Header));
  if (l.header.bytenr != bytenr) throw_validation(where + ": header records bytenr " + hex(l.header.bytenr));
  if (std::memcmp(l.header.fsid, fsid, 16) != 0) throw_validation(where + ": belongs to another filesystem");
  if (l.header.level != 0) throw_validation(where + ": is a node (level > 0); only leaves are read");
  const size_t payload = nodesize - sizeof(Header);
  const uint32_t n = l.header.nritems;
  if (n * sizeof(Item) > payload) throw_validation(where + ": too many items");
  const uint8_t* items = block + sizeof(Header);
  uint32_t prev_offset = static_cast<uint32_t>(payload);
  for (uint32_t i = 0; i < n; ++i) {
    Item it;
    std::memcpy(&it, items + i * sizeof(Item), sizeof it);
    Key k = from_disk(it.key);
    if (i > 0 && !(l.items.back().key < k)) throw_validation(where + ": keys out of order at item " + std::to_string(i));
    if (it.offset.get() + it.size.get() != prev_offset || it.offset < n * sizeof(Item))
      throw_validation(where + ": item " + std::to_string(i) + " data is not packed from the block end");
    prev_offset = it.offset;
    l.items.push_back({k, std::vector<uint8_t>(items + it.offset.get(), items + it.offset.get() + it.size.get())});
  }
  return l;
}

Inspection inspect(const std::vector<ReadFn>& devices) {
  Inspection r;
  auto& P = r.problems;
  if (devices.empty()) throw_validation("no devices to inspect");
  std::map<uint64_t, ReadFn> by_devid;
  std::map<uint64_t, SuperBlock> supers;
  for (auto& read : devices) {
    SuperBlock sb = parse_super(read(kSuperOffset, kSuperSize), kSuperOffset);
    uint64_t devid = sb.dev_item.devid;
    if (by_devid.count(devid)) throw_validation("two devices claim btrfs devid " + hex(devid));
    by_devid[devid] = read;
    supers[devid] = sb;
    for (uint64_t m : super_mirrors_for(sb.dev_item.total_bytes)) {
      if (m == kSuperOffset) continue;
      SuperBlock mirror = parse_super(read(m, kSuperSize), m);
      mirror.bytenr = sb.bytenr.get();
      std::memcpy(mirror.csum, sb.csum, sizeof sb.csum);
      if (std::memcmp(&mirror, &sb, sizeof sb) != 0) P.push_back("superblock mirror at " + hex(m) + " differs");
    }
  }
  r.super = supers.begin()->second;
  const SuperBlock& sb = r.super;
  for (auto& [devid, s] : supers) {
    if (std::memcmp(s.fsid, sb.fsid, 16) != 0) throw_validation("devices belong to different btrfs filesystems");
    if (std::memcmp(s.dev_item.fsid, sb.fsid, 16) != 0) P.push_back("dev item of devid " + hex(devid) + " has another fsid");
  }
  if (sb.num_devices != devices.size())
    P.push_back("superblock says " + hex(sb.num_devices) + " devices, " + std::to_string(devices.size()) + " given");
  if (sb.nodesize != kNodeSize && (sb.nodesize < 4096 || sb.nodesize > 65536))
    throw_validation("btrfs nodesize " + hex(sb.nodesize) + " is unsupported");

  Reader reader(by_devid, sb, P);
  auto sys = parse_sys_chunk_array(sb);
  reader.set_chunks(sys);

  // Chunk tree: the full chunk map and device items.
  r.tree_roots[BTRFS_CHUNK_TREE_OBJECTID] = sb.chunk_root;
  Leaf chunk_leaf = reader.leaf(sb.chunk_root, BTRFS_CHUNK_TREE_OBJECTID);
  std::map<uint64_t, DevItem> dev_items;
  for (auto& it : chunk_leaf.items) {
    if (it.key.type == BTRFS_CHUNK_ITEM_KEY) r.chunks.push_back(chunk_from_item(it.key.offset, it.data));
    if (it.key.type == BTRFS_DEV_ITEM_KEY) dev_items[it.key.offset] = load<DevItem>(it.data);
  }
  r.leaves[BTRFS_CHUNK_TREE_OBJECTID] = std::move(chunk_leaf);
  for (auto& s : sys) {
    bool found = std::any_of(r.chunks.begin(), r.chunks.end(), [&](auto& c) { return same_chunk(c, s); });
    if (!found || !(s.type & BTRFS_BLOCK_GROUP_SYSTEM))
      P.push_back("sys chunk array entry " + hex(s.logical) + " does not match a system chunk of the chunk tree");
  }
  if (dev_items.size() != sb.num_devices) P.push_back("chunk tree has " + hex(dev_items.size()) + " device items");
  for (auto& [devid, s] : supers) {
    auto d = dev_items.find(devid);
    if (d == dev_items.end() || std::memcmp(d->second.uuid, s.dev_item.uuid, 16) != 0 ||
        d->second.total_bytes != s.dev_item.total_bytes || d->second.bytes_used != s.dev_item.bytes_used)
      P.push_back("superblock dev item of devid " + hex(devid) + " differs from the chunk tree");
  }
  reader.set_chunks(r.chunks);

  // Root tree and every tree it names.
  r.tree_roots[BTRFS_ROOT_TREE_OBJECTID] = sb.root;
  r.leaves[BTRFS_ROOT_TREE_OBJECTID] = reader.leaf(sb.root, BTRFS_ROOT_TREE_OBJECTID);
  std::map<uint64_t, RootItem> root_items;
  for (auto& it : r.leaves[BTRFS_ROOT_TREE_OBJECTID].items)
    if (it.key.type == BTRFS_ROOT_ITEM_KEY) root_items[it.key.objectid] = load<RootItem>(it.data);
  for (auto& [owner, ri] : root_items) {
    if (ri.level != 0) throw_validation("btrfs tree " + hex(owner) + " is deeper than one leaf; not supported here");
    r.tree_roots[owner] = ri.bytenr;
    r.leaves[owner] = reader.leaf(ri.bytenr, owner);
  }
  std::vector<uint64_t> required = {BTRFS_EXTENT_TREE_OBJECTID, BTRFS_DEV_TREE_OBJECTID, BTRFS_FS_TREE_OBJECTID,
                                    BTRFS_CSUM_TREE_OBJECTID, kDataRelocObjectid};
  if (sb.compat_ro_flags.get() & kCompatRoFreeSpaceTree) required.push_back(BTRFS_FREE_SPACE_TREE_OBJECTID);
  for (uint64_t t : required)
    if (!root_items.count(t)) throw_validation("btrfs root tree lacks tree " + hex(t));

  std::set<uint64_t> tree_blocks;
  std::map<uint64_t, uint64_t> block_owner;
  for (auto& [owner, bytenr] : r.tree_roots) {
    if (!tree_blocks.insert(bytenr).second) P.push_back("tree block " + hex(bytenr) + " is used by two trees");
    block_owner[bytenr] = owner;
  }
  check_extents_and_block_groups(r, tree_blocks, block_owner);
  check_dev_extents(r, dev_items);
  check_root_dir(r, BTRFS_FS_TREE_OBJECTID);
  check_root_dir(r, kDataRelocObjectid);

  // UUID tree: the FS tree's UUID maps back to subvolume 5.
  if (root_items.count(BTRFS_UUID_TREE_OBJECTID)) {
    const uint8_t* u = root_items[BTRFS_FS_TREE_OBJECTID].uuid;
    Key want{load_le64(u), BTRFS_UUID_KEY_SUBVOL, load_le64(u + 8)};
    bool found = false;
    for (auto& it : r.leaves[BTRFS_UUID_TREE_OBJECTID].items)
      if (it.key == want && load<le64>(it.data) == BTRFS_FS_TREE_OBJECTID) found = true;
    if (!found) P.push_back("uuid tree does not map the FS tree UUID to subvolume 5");
  }
  return r;
}

}  // namespace mos::fsmake::btrfs
