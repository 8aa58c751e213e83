// Native btrfs mkfs, without devices: plans are applied to in-memory sparse images and read
// back with fsmake/btrfs_read (whose own reading of real mkfs.btrfs output is checked in the
// integration tests). Expected constants come from `btrfs inspect-internal dump-super/dump-tree`
// of a mkfs.btrfs 6.2 filesystem, not from our code.
#include <gtest/gtest.h>
#include <linux/btrfs_tree.h>

#include <cstring>
#include <map>

#include "fsmake/btrfs.hpp"
#include "fsmake/btrfs_chunks.hpp"
#include "fsmake/readers/btrfs_read.hpp"
#include "base/error.hpp"

namespace mos::fsmake::btrfs {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// A sparse image: what a plan wrote, zeros elsewhere.
struct MemImage {
  uint64_t size = 0;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> extents_in_order;  // later writes win

  void apply(const mos::WritePlan& plan) {
    for (auto& step : plan.steps) {
      for (auto& z : step.zeroes) {
        ASSERT_LE(z.offset + z.length, size) << z.what;
        write(z.offset, std::vector<uint8_t>(std::min<uint64_t>(z.length, 4 * MiB), 0));
      }
      for (auto& w : step.writes) {
        ASSERT_LE(w.offset + w.data.size(), size) << w.what;
        write(w.offset, w.data.to_vector());
      }
    }
  }
  void write(uint64_t off, const std::vector<uint8_t>& data) {
    extents_in_order.push_back({off, data});
  }
  std::vector<uint8_t> read(uint64_t off, size_t len) const {
    std::vector<uint8_t> out(len, 0);
    for (auto& [eoff, data] : extents_in_order) {
      uint64_t lo = std::max(off, eoff), hi = std::min(off + len, eoff + data.size());
      if (lo < hi) std::memcpy(out.data() + (lo - off), data.data() + (lo - eoff), hi - lo);
    }
    return out;
  }
  ReadFn reader() const {
    return [this](uint64_t off, size_t len) { return read(off, len); };
  }
};

struct Made {
  std::vector<mos::WritePlan> plans;
  std::vector<MemImage> images;
  Inspection fs;
};

Made make(const BtrfsOptions& o, const std::vector<uint64_t>& sizes) {
  std::vector<BtrfsDevice> devs;
  for (uint64_t s : sizes) devs.push_back({s, 512});
  Made m;
  m.plans = plan_mkfs(o, devs);
  m.images.resize(sizes.size());
  std::vector<ReadFn> readers;
  for (size_t i = 0; i < sizes.size(); ++i) {
    m.images[i].size = sizes[i];
    m.images[i].apply(m.plans[i]);
    readers.push_back(m.images[i].reader());
  }
  m.fs = inspect(readers);
  return m;
}

const ChunkMapEntry& chunk_of(const Inspection& fs, uint64_t kind) {
  for (auto& c : fs.chunks)
    if (c.type & kind) return c;
  throw std::runtime_error("no chunk of that kind");
}

std::string problems(const Inspection& fs) {
  std::string s;
  for (auto& p : fs.problems) s += p + "\n";
  return s;
}

TEST(BtrfsFormat, NameHashMatchesMkfsBtrfs) {
  // dump-tree of mkfs.btrfs: key (ROOT_TREE_DIR DIR_ITEM 2378154706) for "default".
  EXPECT_EQ(name_hash("default", 7), 2378154706u);
}

TEST(BtrfsMkfs, SingleDeviceRoundTripsWithDupMetadata) {
  BtrfsOptions o;
  o.label = "MOSDATA";
  o.fsid = std::array<uint8_t, 16>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  Made m = make(o, {1 * GiB});
  ASSERT_TRUE(m.fs.problems.empty()) << problems(m.fs);
  const SuperBlock& sb = m.fs.super;
  EXPECT_EQ(std::string(sb.label), "MOSDATA");
  EXPECT_EQ(0, std::memcmp(sb.fsid, o.fsid->data(), 16));
  EXPECT_EQ(sb.nodesize.get(), 16384u);
  EXPECT_EQ(sb.sectorsize.get(), 4096u);
  EXPECT_EQ(sb.incompat_flags.get(), 0x341u);  // mkfs.btrfs 6.2: MIXED_BACKREF|EXTENDED_IREF|SKINNY|NO_HOLES
  EXPECT_EQ(sb.compat_ro_flags.get(), 0x3u);   // FREE_SPACE_TREE | FREE_SPACE_TREE_VALID
  EXPECT_EQ(sb.total_bytes.get(), 1 * GiB);
  EXPECT_EQ(sb.num_devices.get(), 1u);
  EXPECT_EQ(sb.root_dir_objectid.get(), 6u);
  EXPECT_EQ(sb.bytes_used.get(), 9u * 16384);  // 9 tree leaves, as mkfs.btrfs reports (147456)

  auto& sys = chunk_of(m.fs, BTRFS_BLOCK_GROUP_SYSTEM);
  auto& meta = chunk_of(m.fs, BTRFS_BLOCK_GROUP_METADATA);
  auto& data = chunk_of(m.fs, BTRFS_BLOCK_GROUP_DATA);
  EXPECT_EQ(sys.type, BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_DUP);
  EXPECT_EQ(meta.type, BTRFS_BLOCK_GROUP_METADATA | BTRFS_BLOCK_GROUP_DUP);
  EXPECT_EQ(data.type, BTRFS_BLOCK_GROUP_DATA);
  EXPECT_EQ(sys.length, 8 * MiB);
  EXPECT_EQ(data.length, 8 * MiB);
  ASSERT_EQ(meta.stripes.size(), 2u);
  EXPECT_EQ(meta.stripes[0].devid, 1u);
  EXPECT_EQ(meta.stripes[1].devid, 1u);
  EXPECT_NE(meta.stripes[0].physical, meta.stripes[1].physical);
  for (uint64_t t : {1, 2, 3, 4, 5, 7, 9, 10}) EXPECT_TRUE(m.fs.tree_roots.count(t)) << "tree " << t;
  EXPECT_TRUE(m.fs.tree_roots.count(static_cast<uint64_t>(BTRFS_DATA_RELOC_TREE_OBJECTID)));
  EXPECT_FALSE(m.fs.tree_roots.count(BTRFS_BLOCK_GROUP_TREE_OBJECTID));
  // The 64 MiB mirror fits a 1 GiB device, the 256 GiB one does not.
  EXPECT_NO_THROW(parse_super(m.images[0].read(64 * MiB, 4096), 64 * MiB));
  EXPECT_THROW(parse_super(m.images[0].read(256 * GiB - 4096, 4096), 256 * GiB), Error);
}

TEST(BtrfsMkfs, PlanWritesSuperblockLastAndWipesOldSignatures) {
  BtrfsOptions o;
  auto plans = plan_mkfs(o, {{1 * GiB, 4096}});
  ASSERT_EQ(plans.size(), 1u);
  auto& steps = plans[0].steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].name, "wipe");
  EXPECT_EQ(steps[2].name, "super");
  ASSERT_EQ(steps[2].writes.size(), 1u);
  EXPECT_EQ(steps[2].writes[0].offset, 64u * 1024);
  EXPECT_EQ(steps[0].zeroes[0].offset, 0u);
  EXPECT_EQ(steps[0].zeroes.back().offset + steps[0].zeroes.back().length, 1 * GiB);
  // Few, large writes: the chunk leaf per copy, one run of metadata leaves per copy, 64 MiB mirror.
  EXPECT_LE(steps[1].writes.size(), 5u);
  EXPECT_LT(plans[0].bytes_written(), 512u * 1024);
}

TEST(BtrfsMkfs, OneTebibyteHasAllMirrorsAndGibibyteMetadata) {
  Made m = make({}, {1ull << 40});
  ASSERT_TRUE(m.fs.problems.empty()) << problems(m.fs);
  EXPECT_NO_THROW(parse_super(m.images[0].read(256 * GiB, 4096), 256 * GiB));
  EXPECT_EQ(chunk_of(m.fs, BTRFS_BLOCK_GROUP_METADATA).length, 1 * GiB);
}

TEST(BtrfsMkfs, TreeBlocksStayOffSuperblockMirrors) {
  // 950 MiB puts the second metadata copy exactly at the 64 MiB mirror.
  Made m = make({}, {950 * MiB});
  ASSERT_TRUE(m.fs.problems.empty()) << problems(m.fs);
  auto& meta = chunk_of(m.fs, BTRFS_BLOCK_GROUP_METADATA);
  EXPECT_EQ(meta.stripes[1].physical, 64 * MiB);
  for (auto& step : m.plans[0].steps) {
    if (step.name != "trees") continue;
    for (auto& w : step.writes) {
      if (w.data.size() == 4096) continue;  // the mirrors themselves
      EXPECT_FALSE(overlaps_super_mirror(w.offset, w.data.size())) << w.what << " at " << w.offset;
    }
  }
  EXPECT_NO_THROW(parse_super(m.images[0].read(64 * MiB, 4096), 64 * MiB));
}

TEST(BtrfsMkfs, Raid1PutsOneCopyOnEachDevice) {
  BtrfsOptions o;
  o.data_profile = "raid1";
  Made m = make(o, {2 * GiB, 3 * GiB});
  ASSERT_TRUE(m.fs.problems.empty()) << problems(m.fs);
  for (uint64_t kind : {BTRFS_BLOCK_GROUP_SYSTEM, BTRFS_BLOCK_GROUP_METADATA, BTRFS_BLOCK_GROUP_DATA}) {
    auto& c = chunk_of(m.fs, kind);
    EXPECT_TRUE(c.type & BTRFS_BLOCK_GROUP_RAID1);
    ASSERT_EQ(c.stripes.size(), 2u);
    EXPECT_NE(c.stripes[0].devid, c.stripes[1].devid);
  }
  EXPECT_EQ(m.fs.super.total_bytes.get(), 5 * GiB);
  // Each device carries its own dev item (and so its own UUID_SUB) in its superblock.
  auto s1 = parse_super(m.images[0].read(64 * 1024, 4096), 64 * 1024);
  auto s2 = parse_super(m.images[1].read(64 * 1024, 4096), 64 * 1024);
  EXPECT_EQ(s1.dev_item.devid.get(), 1u);
  EXPECT_EQ(s2.dev_item.devid.get(), 2u);
  EXPECT_NE(0, std::memcmp(s1.dev_item.uuid, s2.dev_item.uuid, 16));
}

TEST(BtrfsMkfs, ThirdRaid1DeviceJoinsWithoutChunks) {
  BtrfsOptions o;
  o.data_profile = "raid1";
  Made m = make(o, {1 * GiB, 1 * GiB, 1 * GiB});
  ASSERT_TRUE(m.fs.problems.empty()) << problems(m.fs);
  EXPECT_EQ(m.fs.super.num_devices.get(), 3u);
}

TEST(BtrfsMkfs, CorruptedLeafIsDetected) {
  Made m = make({}, {1 * GiB});
  auto& meta = chunk_of(m.fs, BTRFS_BLOCK_GROUP_METADATA);
  // Flip one byte inside the second copy of the first metadata leaf.
  std::vector<uint8_t> bad = m.images[0].read(meta.stripes[1].physical + 200, 1);
  bad[0] ^= 0xff;
  m.images[0].write(meta.stripes[1].physical + 200, bad);
  EXPECT_THROW(inspect({m.images[0].reader()}), Error);
}

void expect_rejected(const BtrfsOptions& o, const std::vector<BtrfsDevice>& devs, const std::string& needle) {
  try {
    plan_mkfs(o, devs);
    ADD_FAILURE() << "accepted, expected an error mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(BtrfsMkfs, RejectsBadRequests) {
  BtrfsOptions o;
  expect_rejected(o, {}, "at least one device");
  expect_rejected(o, {{kMinDeviceBytes - 1, 512}}, "minimum is 114294784");
  EXPECT_NO_THROW(plan_mkfs(o, {{kMinDeviceBytes, 512}}));
  expect_rejected(o, {{GiB, 8192}}, "logical sector size 8192");
  BtrfsOptions label = o;
  label.label = std::string(256, 'x');
  expect_rejected(label, {{GiB, 512}}, "btrfs labels hold at most 255");
  label.label = std::string(255, 'x');
  EXPECT_NO_THROW(plan_mkfs(label, {{GiB, 512}}));
  BtrfsOptions raid = o;
  raid.data_profile = "raid1";
  expect_rejected(raid, {{GiB, 512}}, "data profile raid1 needs at least 2 devices");
  BtrfsOptions meta = o;
  meta.metadata_profile = "raid1";
  expect_rejected(meta, {{GiB, 512}}, "metadata profile raid1 needs at least 2 devices");
  BtrfsOptions unknown = o;
  unknown.data_profile = "raid5";
  expect_rejected(unknown, {{GiB, 512}}, "unknown btrfs data profile 'raid5'");
  BtrfsOptions zero = o;
  zero.fsid = std::array<uint8_t, 16>{};
  expect_rejected(zero, {{GiB, 512}}, "all zeroes");
}

TEST(BtrfsMkfs, DefaultMetadataProfileFollowsDeviceCount) {
  Made one = make({}, {GiB});
  EXPECT_EQ(chunk_of(one.fs, BTRFS_BLOCK_GROUP_METADATA).type & BTRFS_BLOCK_GROUP_PROFILE_MASK,
            BTRFS_BLOCK_GROUP_DUP);
  Made two = make({}, {GiB, GiB});
  EXPECT_EQ(chunk_of(two.fs, BTRFS_BLOCK_GROUP_METADATA).type & BTRFS_BLOCK_GROUP_PROFILE_MASK,
            BTRFS_BLOCK_GROUP_RAID1);
  EXPECT_EQ(chunk_of(two.fs, BTRFS_BLOCK_GROUP_DATA).type & BTRFS_BLOCK_GROUP_PROFILE_MASK, 0u);
  BtrfsOptions single;
  single.metadata_profile = "single";
  Made s = make(single, {GiB});
  ASSERT_TRUE(s.fs.problems.empty()) << problems(s.fs);
  EXPECT_EQ(chunk_of(s.fs, BTRFS_BLOCK_GROUP_METADATA).stripes.size(), 1u);
}

}  // namespace
}  // namespace mos::fsmake::btrfs

namespace mos::fsmake::btrfs {
namespace {

TEST(BtrfsLeaf, PacksSortedItemsFromTheEndAndParsesBack) {
  LeafBuilder b(5);
  b.add(Key{300, 1, 0}, std::vector<uint8_t>{1, 2, 3});
  b.add(Key{256, 12, 256}, std::vector<uint8_t>{4});
  b.add_empty(Key{256, 1, 0});
  std::array<uint8_t, 16> fsid{9};
  std::vector<uint8_t> block(kNodeSize);
  b.write(block.data(), 1 << 20, NodeIdentity{fsid, {}, 7});
  Leaf l = parse_leaf(block.data(), kNodeSize, 1 << 20, fsid.data());
  ASSERT_EQ(l.items.size(), 3u);
  EXPECT_TRUE((l.items[0].key == Key{256, 1, 0}));
  EXPECT_TRUE((l.items[1].key == Key{256, 12, 256}));
  EXPECT_TRUE((l.items[2].key == Key{300, 1, 0}));
  EXPECT_EQ(l.items[2].data, (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_EQ(l.header.owner.get(), 5u);
  EXPECT_EQ(l.header.generation.get(), 7u);
  EXPECT_EQ(l.header.flags.get(), kHeaderFlags);
  // First item's data ends at the block end ("itemoff 16283 - size" in dump-tree terms).
  Item first;
  std::memcpy(&first, block.data() + sizeof(Header), sizeof first);
  EXPECT_EQ(first.offset.get() + first.size.get(), kNodeSize - sizeof(Header));

  EXPECT_THROW(parse_leaf(block.data(), kNodeSize, 2 << 20, fsid.data()), Error);  // wrong address
  std::array<uint8_t, 16> other{8};
  EXPECT_THROW(parse_leaf(block.data(), kNodeSize, 1 << 20, other.data()), Error);  // other filesystem
  block[kNodeSize - 1] ^= 1;
  EXPECT_THROW(parse_leaf(block.data(), kNodeSize, 1 << 20, fsid.data()), Error);  // checksum
}

TEST(BtrfsLeaf, OverflowAndDuplicateKeysAreProgrammingErrors) {
  std::vector<uint8_t> block(kNodeSize);
  LeafBuilder big(1);
  for (uint64_t i = 0; i < 40; ++i) big.add(Key{i, 132, 0}, std::vector<uint8_t>(439));
  try {
    big.write(block.data(), 0, {});
    ADD_FAILURE() << "overflow accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::internal);
  }
  LeafBuilder dup(1);
  dup.add_empty(Key{1, 1, 1});
  dup.add_empty(Key{1, 1, 1});
  EXPECT_THROW(dup.write(block.data(), 0, {}), Error);
}

TEST(BtrfsChunks, Raid1UsesTheSmallestDeviceForSizesAndPicksRoomiestDevices) {
  auto L = allocate_chunks({4 * GiB, 2 * GiB, 8 * GiB}, Profile::raid1, Profile::raid1);
  // The largest devices take the first copies; sizes follow the smallest (2 GiB).
  EXPECT_EQ(L.system.stripes[0].dev_index, 2u);
  EXPECT_EQ(L.system.stripes[1].dev_index, 0u);
  EXPECT_EQ(L.data.length, 204 * MiB);
  for (auto* c : {&L.system, &L.metadata, &L.data})
    for (auto& s : c->stripes) EXPECT_GE(s.physical, 1 * MiB);
  uint64_t used = 0;
  for (uint64_t u : L.dev_bytes_used) used += u;
  EXPECT_EQ(used, 2 * (L.system.length + L.metadata.length + L.data.length));
}

}  // namespace
}  // namespace mos::fsmake::btrfs
