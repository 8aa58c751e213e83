// mos_sysvol configuration: defaults < file < kernel command line; bad files fall back to the
// defaults with a warning naming the line and the key; bad cmdline values are ignored.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/sysvol/config.hpp"
#include "tests/support/harness.hpp"

namespace mos::engine::sysvol {
namespace {

bool has_warning(const Config& c, const std::string& part) {
  for (const auto& w : c.warnings)
    if (w.find(part) != std::string::npos) return true;
  return false;
}
std::string all_warnings(const Config& c) {
  std::string s;
  for (const auto& w : c.warnings) s += w + "\n";
  return s;
}

TEST(SysvolConfig, DefaultsNameTheFiveCoreSubvolumes) {
  Config c = default_config();
  ASSERT_EQ(c.subvolumes.size(), 5u);
  const char* names[] = {"system", "etc", "modules", "vm-meta", "mos-bin"};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(c.subvolumes[i].name, names[i]);
    EXPECT_EQ(c.subvolumes[i].mount_point, std::string("/var/cache/") + names[i]);
  }
  EXPECT_FALSE(c.data_size_gib);
  EXPECT_FALSE(c.swap_size_gib);
  EXPECT_EQ(c.boot_mount, "/boot");
  EXPECT_EQ(c.efi_mount, "/boot/efi");
  EXPECT_TRUE(c.warnings.empty());
}

TEST(SysvolConfig, FileOverridesDefaults) {
  Config c = config_from_toml(R"(
[storage]
data_size_gb = 40
swap_size_gb = 2
[mount]
btrfs_options = "noatime"
boot = "off"
efi = "/efi"
[[subvolumes]]
name = "system"
options = "noatime,compress=zstd:3"
[[subvolumes]]
name = "images"
mount_point = "/srv/images"
[[dirs]]
path = "/var/cache/system/work"
mode = 0o700
)", "t.toml");
  EXPECT_TRUE(c.warnings.empty()) << all_warnings(c);
  EXPECT_EQ(c.data_size_gib, 40u);
  EXPECT_EQ(c.swap_size_gib, 2u);
  EXPECT_EQ(c.btrfs_options, "noatime");
  EXPECT_EQ(c.boot_mount, "");
  EXPECT_EQ(c.efi_mount, "/efi");
  ASSERT_EQ(c.subvolumes.size(), 2u);
  EXPECT_EQ(c.subvolumes[0].mount_point, "/var/cache/system");
  EXPECT_EQ(c.subvolumes[0].options, "noatime,compress=zstd:3");
  EXPECT_EQ(c.subvolumes[1].mount_point, "/srv/images");
  ASSERT_EQ(c.dirs.size(), 1u);
  EXPECT_EQ(c.dirs[0].mode, 0700u);
}

TEST(SysvolConfig, CmdlineOverridesFile) {
  Config c = config_from_toml("[storage]\ndata_size_gb = 40\nswap_size_gb = 2\n", "t.toml");
  apply_cmdline(c, "BOOT_IMAGE=/vmlinuz quiet mossize=100 mosswap=8 console=ttyS0\n");
  EXPECT_EQ(c.data_size_gib, 100u);
  EXPECT_EQ(c.swap_size_gib, 8u);
  EXPECT_TRUE(c.warnings.empty()) << all_warnings(c);
}

TEST(SysvolConfig, BadCmdlineValueIsIgnoredWithAWarning) {
  Config c = config_from_toml("[storage]\nswap_size_gb = 2\n", "t.toml");
  apply_cmdline(c, "mosswap=lots mossize=-3 mossize=0");
  EXPECT_EQ(c.swap_size_gib, 2u);
  EXPECT_FALSE(c.data_size_gib);
  EXPECT_TRUE(has_warning(c, "mosswap=lots")) << all_warnings(c);
  EXPECT_TRUE(has_warning(c, "mossize=-3")) << all_warnings(c);
  EXPECT_TRUE(has_warning(c, "mossize=0")) << all_warnings(c);
}

TEST(SysvolConfig, UnparseableFileMeansDefaultsAndNamesTheLine) {
  Config c = config_from_toml("[storage]\ndata_size_gb = 40\nswap_size_gb = = 2\n", "/etc/mos_sysvol.toml");
  EXPECT_FALSE(c.data_size_gib) << "defaults, not half the file";
  EXPECT_TRUE(has_warning(c, "/etc/mos_sysvol.toml line 3")) << all_warnings(c);
}

TEST(SysvolConfig, InvalidValueNamesLineAndKey) {
  Config c = config_from_toml("[storage]\ndata_size_gb = 40\n\nswap_size_gb = \"two\"\n", "f.toml");
  EXPECT_FALSE(c.data_size_gib);
  EXPECT_TRUE(has_warning(c, "f.toml line 4: key storage.swap_size_gb")) << all_warnings(c);
}

TEST(SysvolConfig, UnknownKeyAndBadPathsAreInvalid) {
  Config a = config_from_toml("[storage]\ndata_sise_gb = 4\n", "f.toml");
  EXPECT_TRUE(has_warning(a, "line 2: key storage.data_sise_gb: unknown key")) << all_warnings(a);
  Config b = config_from_toml("[[subvolumes]]\nname = \"x\"\nmount_point = \"/var/../etc\"\n", "f.toml");
  EXPECT_TRUE(has_warning(b, "line 3: key subvolumes.mount_point")) << all_warnings(b);
  EXPECT_EQ(b.subvolumes.size(), 5u);
  Config c = config_from_toml("[[subvolumes]]\nname = \"a/b\"\n", "f.toml");
  EXPECT_TRUE(has_warning(c, "line 2: key subvolumes.name")) << all_warnings(c);
  Config d = config_from_toml("[mount]\nbtrfs_options = \"noatime,,x\"\n", "f.toml");
  EXPECT_TRUE(has_warning(d, "line 2: key mount.btrfs_options")) << all_warnings(d);
  Config e = config_from_toml("[storage]\nswap_size_gb = 0\n", "f.toml");
  EXPECT_TRUE(has_warning(e, "line 2: key storage.swap_size_gb")) << all_warnings(e);
}

TEST(SysvolConfig, FilesAndCmdlineFromDisk) {
  mos::test::TempDir dir;
  {
    std::ofstream(dir / "c.toml") << "[storage]\nswap_size_gb = 3\n";
    std::ofstream(dir / "cmdline") << "ro mossize=12\n";
  }
  Config c = load_config(dir / "c.toml", dir / "cmdline");
  EXPECT_EQ(c.swap_size_gib, 3u);
  EXPECT_EQ(c.data_size_gib, 12u);
  Config missing = load_config(dir / "absent.toml", dir / "absent-cmdline");
  EXPECT_TRUE(missing.warnings.empty()) << all_warnings(missing);
  EXPECT_FALSE(missing.swap_size_gib);
}

}  // namespace
}  // namespace mos::engine::sysvol
