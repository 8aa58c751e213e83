// The mount option allow list: what a caller may ask for, per filesystem.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "engine/mount_options.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

std::string refusal(const std::string& fstype, const std::string& options, bool privileged = false) {
  try {
    checked_mount_options(fstype, options, privileged);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    return e.what();
  }
  return {};
}

TEST(MountAllowList, NosuidNodevByDefault) {
  auto o = checked_mount_options("ext4", "noatime", false);
  EXPECT_TRUE(o.mount_attrs & MOUNT_ATTR_NOSUID);
  EXPECT_TRUE(o.mount_attrs & MOUNT_ATTR_NODEV);
  auto empty = checked_mount_options("vfat", "", false);
  EXPECT_TRUE(empty.mount_attrs & MOUNT_ATTR_NOSUID);
  EXPECT_TRUE(empty.mount_attrs & MOUNT_ATTR_NODEV);
}

TEST(MountAllowList, SuidAndDevNeedPrivileged) {
  EXPECT_NE(refusal("ext4", "suid").find("'suid' needs privileged"), std::string::npos);
  EXPECT_NE(refusal("ext4", "noatime,dev").find("'dev' needs privileged"), std::string::npos);
  auto o = checked_mount_options("ext4", "suid,dev", true);
  EXPECT_FALSE(o.mount_attrs & MOUNT_ATTR_NOSUID);
  EXPECT_FALSE(o.mount_attrs & MOUNT_ATTR_NODEV);
  auto only_suid = checked_mount_options("ext4", "suid", true);
  EXPECT_FALSE(only_suid.mount_attrs & MOUNT_ATTR_NOSUID);
  EXPECT_TRUE(only_suid.mount_attrs & MOUNT_ATTR_NODEV);
}

TEST(MountAllowList, DangerousAndUnknownOptionsAreNamed) {
  EXPECT_NE(refusal("ext4", "errors=panic").find("mount option 'errors=panic' is not allowed for ext4"), std::string::npos);
  EXPECT_NE(refusal("vfat", "errors=panic").find("'errors=panic'"), std::string::npos);
  EXPECT_NE(refusal("ext4", "noatime,foo=bar").find("'foo=bar' is not allowed for ext4"), std::string::npos);
  EXPECT_NE(refusal("btrfs", "device=/dev/vda").find("'device=/dev/vda'"), std::string::npos);
  EXPECT_NE(refusal("ext4", "compress=zstd").find("'compress=zstd' is not allowed for ext4"), std::string::npos);
  EXPECT_NE(refusal("nosuchfs", "uid=0").find("'uid=0' is not allowed for nosuchfs"), std::string::npos);
}

TEST(MountAllowList, OrdinaryOptionsPass) {
  EXPECT_EQ(refusal("ext4", "ro,nosuid,nodev,noexec,errors=remount-ro"), "");
  EXPECT_EQ(refusal("btrfs", "noatime,compress=zstd,space_cache=v2,subvolid=5"), "");
  EXPECT_EQ(refusal("vfat", "uid=1000,gid=1000,umask=077,shortname=mixed,utf8"), "");
  EXPECT_EQ(refusal("nosuchfs", "noatime"), "");  // generic options: the kernel judges the type
}

}  // namespace
}  // namespace mos::engine
