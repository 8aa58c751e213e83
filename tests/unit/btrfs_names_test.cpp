// Subvolume name rules, core subvolumes, and btrfs profile names (no devices needed).
#include <gtest/gtest.h>
#include <linux/btrfs_tree.h>

#include "engine/btrfs/fs.hpp"
#include "engine/btrfs/usage.hpp"
#include "base/error.hpp"

namespace bt = mos::engine::btrfs;

namespace {
int code_of(const std::string& name) {
  try {
    bt::validate_subvolume_name(name);
    return 0;
  } catch (const mos::Error& e) {
    return static_cast<int>(e.code());
  }
}
}  // namespace

TEST(BtrfsNames, AcceptsPlainNames) {
  for (const char* ok : {"apps", "vm-meta", "a.b", "snap@2026-11-22", "x_y+z", "..a", "a..b"})
    EXPECT_EQ(code_of(ok), 0) << ok;
  EXPECT_EQ(code_of(std::string(255, 'n')), 0);
}

TEST(BtrfsNames, RefusesTraversalSeparatorsAndOddCharacters) {
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs", "-opt", "sp ace", "tab\t", "new\nline", "semi;", "q'uote",
                          "dollar$", "star*", "ütf"})
    EXPECT_EQ(code_of(bad), -32001) << bad;
  EXPECT_EQ(code_of(std::string(256, 'n')), -32001);
}

TEST(BtrfsNames, CoreSubvolumes) {
  for (const char* core : {"system", "etc", "modules", "vm-meta", "mos-bin"}) EXPECT_TRUE(bt::is_core_subvolume(core));
  for (const char* other : {"apps", "System", "etc2", "vm"}) EXPECT_FALSE(bt::is_core_subvolume(other));
}

TEST(BtrfsNames, ProfilesAndGroupNamesAsBtrfsProgsPrintsThem) {
  EXPECT_EQ(bt::group_type_name(BTRFS_BLOCK_GROUP_DATA), "Data");
  EXPECT_EQ(bt::group_type_name(BTRFS_BLOCK_GROUP_METADATA | BTRFS_BLOCK_GROUP_DUP), "Metadata");
  EXPECT_EQ(bt::group_type_name(BTRFS_BLOCK_GROUP_DATA | BTRFS_BLOCK_GROUP_METADATA), "Data+Metadata");
  EXPECT_EQ(bt::group_profile_name(BTRFS_BLOCK_GROUP_SYSTEM | BTRFS_BLOCK_GROUP_RAID1C3), "RAID1C3");
  EXPECT_EQ(bt::group_profile_name(BTRFS_BLOCK_GROUP_DATA), "single");
  EXPECT_EQ(*bt::profile_flag("raid1"), BTRFS_BLOCK_GROUP_RAID1);
  EXPECT_EQ(*bt::profile_flag("DUP"), BTRFS_BLOCK_GROUP_DUP);
  EXPECT_FALSE(bt::profile_flag("raid7"));
  EXPECT_EQ(bt::profile_copies(BTRFS_BLOCK_GROUP_RAID1C4), 4);
  EXPECT_EQ(bt::profile_copies(BTRFS_BLOCK_GROUP_RAID0), 1);
}
