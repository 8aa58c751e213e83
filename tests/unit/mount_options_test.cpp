// Splitting mount option strings into mount attributes, superblock flags and filesystem data.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "base/error.hpp"
#include "ioctl/mount.hpp"

namespace mos {
namespace {

using Data = std::vector<std::pair<std::string, std::optional<std::string>>>;

TEST(MountOptions, FlagsBecomeAttributesAndTheRestIsFilesystemData) {
  auto s = io::split_mount_options("noatime,compress=zstd,nosuid,space_cache=v2,subvolid=5,nodev,noexec,discard");
  EXPECT_EQ(s.mount_attrs, uint64_t{MOUNT_ATTR_NOATIME | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC});
  EXPECT_TRUE(s.sb_flags.empty());
  Data want{{"compress", "zstd"}, {"space_cache", "v2"}, {"subvolid", "5"}, {"discard", std::nullopt}};
  EXPECT_EQ(s.data, want);
}

TEST(MountOptions, ReadOnlyIsBothAMountAttributeAndASuperblockFlag) {
  auto s = io::split_mount_options("ro,errors=remount-ro");
  EXPECT_EQ(s.mount_attrs, uint64_t{MOUNT_ATTR_RDONLY});
  EXPECT_EQ(s.sb_flags, std::vector<std::string>{"ro"});
  Data want{{"errors", "remount-ro"}};
  EXPECT_EQ(s.data, want);
}

TEST(MountOptions, TheLastAtimeOptionWins) {
  EXPECT_EQ(io::split_mount_options("noatime,strictatime").mount_attrs, uint64_t{MOUNT_ATTR_STRICTATIME});
  EXPECT_EQ(io::split_mount_options("strictatime,relatime").mount_attrs, uint64_t{MOUNT_ATTR_RELATIME});
  EXPECT_EQ(io::split_mount_options("nodiratime,noatime").mount_attrs,
            uint64_t{MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOATIME});
  EXPECT_EQ(io::split_mount_options("nosuid,suid").mount_attrs, 0u);
}

TEST(MountOptions, SyncAndLazytimeGoToTheSuperblock) {
  auto s = io::split_mount_options("sync,lazytime,defaults");
  EXPECT_EQ(s.mount_attrs, 0u);
  EXPECT_EQ(s.sb_flags, (std::vector<std::string>{"sync", "lazytime"}));
  EXPECT_TRUE(s.data.empty());
}

TEST(MountOptions, EmptyStringMeansNoOptions) {
  auto s = io::split_mount_options("");
  EXPECT_EQ(s.mount_attrs, 0u);
  EXPECT_TRUE(s.sb_flags.empty());
  EXPECT_TRUE(s.data.empty());
}

TEST(MountOptions, ValueKeepsEverythingAfterTheFirstEquals) {
  Data want{{"subvol", "/a=b"}};
  EXPECT_EQ(io::split_mount_options("subvol=/a=b").data, want);
}

TEST(MountOptions, MalformedItemsAreRefused) {
  for (const char* bad : {"noatime,,compress=zstd", ",noatime", "noatime,", "=zstd", "comp\nress"}) {
    try {
      io::split_mount_options(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::validation) << bad;
    }
  }
}

}  // namespace
}  // namespace mos
