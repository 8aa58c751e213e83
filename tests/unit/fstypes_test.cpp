// The filesystem-type table: every entry consistent, the RPC enum and the error messages made
// from it, the kernel check of each type.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <set>

#include "base/error.hpp"
#include "engine/fstypes.hpp"
#include "rpc/registry.hpp"
#include "tests/support/harness.hpp"

namespace mos::engine {
namespace {

std::vector<std::string> names_of(const std::function<bool(const FilesystemType&)>& keep) {
  std::vector<std::string> names;
  for (const auto& t : filesystem_types())
    if (keep(t)) names.push_back(t.name);
  return names;
}

TEST(FilesystemTypes, EveryEntryIsConsistent) {
  std::set<std::string> seen;
  for (const auto& t : filesystem_types()) {
    SCOPED_TRACE(t.name);
    EXPECT_TRUE(seen.insert(t.name).second) << "named twice";
    EXPECT_FALSE(t.name.empty());
    // A type is either made by its writer or refused with a reason, never both or neither.
    EXPECT_NE(t.creatable(), !t.refusal.empty());
    if (t.creatable()) {
      EXPECT_GT(t.label.max_bytes, 0u);
      EXPECT_FALSE(t.label.unit.empty());
      EXPECT_NE(t.label.check, nullptr);
    }
    // Mount options belong to types storage.mount is meant for, and those need a kernel filesystem.
    EXPECT_EQ(t.mountable, !t.mount_options.empty());
    EXPECT_TRUE(!t.mountable || !t.kernel_filesystem.empty());
    EXPECT_EQ(t.kernel_filesystem.empty(), t.kernel_module.empty());
    EXPECT_TRUE(!t.multi_device() || t.creatable());
    // No device= for a multi-device type: it would pull in devices the policy never judged.
    EXPECT_EQ(t.mount_options.count("device"), 0u);
  }
}

TEST(FilesystemTypes, TheTableAndWhatItAnswers) {
  auto every = [](const FilesystemType&) { return true; };
  EXPECT_EQ(names_of(every), (std::vector<std::string>{"vfat", "ext4", "swap", "btrfs", "bcachefs"}));
  EXPECT_EQ(names_of(&FilesystemType::creatable), (std::vector<std::string>{"vfat", "ext4", "swap", "btrfs"}));
  // The block filesystems storage.mount is meant for (swap is swapped on, bcachefs not managed).
  EXPECT_EQ(names_of([](const FilesystemType& t) { return t.mountable; }),
            (std::vector<std::string>{"vfat", "ext4", "btrfs"}));
  EXPECT_EQ(names_of(&FilesystemType::multi_device), std::vector<std::string>{"btrfs"});
  EXPECT_EQ(filesystem_type("vfat").id_kind, IdKind::fat_volume_id);
  EXPECT_EQ(filesystem_type("ext4").id_kind, IdKind::uuid);
  EXPECT_TRUE(filesystem_type("ext4").takes_writer_option("full_init"));
  EXPECT_FALSE(filesystem_type("btrfs").takes_writer_option("block_size"));
  EXPECT_EQ(find_filesystem_type("xfs"), nullptr);
}

TEST(FilesystemTypes, TextsAreMadeFromTheTable) {
  EXPECT_EQ(fstype_names(&FilesystemType::creatable, ", ", " or "), "vfat, ext4, swap or btrfs");
  EXPECT_EQ(fstype_names(&FilesystemType::creatable, " | ", " | "), "vfat | ext4 | swap | btrfs");
  EXPECT_EQ(refused_fstypes(), "bcachefs");
  EXPECT_EQ(multi_device_fstypes(), "btrfs");
  EXPECT_EQ(volume_id_fstypes(), "vfat");
  EXPECT_EQ(fstypes_taking("block_size"), "ext4");
  EXPECT_EQ(label_limits_text(), "vfat: 11 upper-case characters; ext4/swap: 16 bytes; btrfs: 255 bytes");
  EXPECT_EQ(longest_label_bytes(), 255u);
}

TEST(FilesystemTypes, UnknownTypeRefusedNamingEveryType) {
  try {
    filesystem_type("xfs");
    FAIL() << "xfs was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::invalid_params);
    std::string listed;
    for (const auto& t : filesystem_types()) listed += (listed.empty() ? "" : ", ") + t.name;
    EXPECT_EQ(std::string(e.what()), "fstype 'xfs' is not one of " + listed);
  }
}

TEST(FilesystemTypes, RpcEnumIsTheTable) {
  rpc::Registry r;
  rpc::register_fs_methods(r);
  const rpc::Method* m = r.find("storage.create_filesystem");
  ASSERT_NE(m, nullptr);
  rpc::json expected = rpc::json::array();
  for (const auto& t : filesystem_types()) expected.push_back(t.name);
  EXPECT_EQ(m->params["properties"]["fstype"]["enum"], expected);
  EXPECT_EQ(m->params["properties"]["label"]["maxLength"], longest_label_bytes());
}

TEST(FilesystemTypes, KernelHasFromProcOrModules) {
  test::TempDir dir;
  KernelPlaces where{dir.path() + "/filesystems", dir.path() + "/modules"};
  std::ofstream(where.proc_filesystems) << "nodev\tsysfs\n\text4\n";
  ASSERT_EQ(::mkdir(where.modules_dir.c_str(), 0755), 0);
  std::ofstream(where.modules_dir + "/modules.dep") << "kernel/fs/fat/vfat.ko.xz:\n";
  EXPECT_TRUE(kernel_has(filesystem_type("ext4"), where));      // /proc/filesystems
  EXPECT_TRUE(kernel_has(filesystem_type("vfat"), where));      // a module
  EXPECT_FALSE(kernel_has(filesystem_type("bcachefs"), where));  // neither
  EXPECT_TRUE(kernel_has(filesystem_type("swap"), where));      // needs nothing
}

}  // namespace
}  // namespace mos::engine
