// create_filesystem with the native ext4 and btrfs writers, then storage.mount of the result:
// judged by e2fsck -fn / btrfs check --readonly, blkid, mountinfo and the kernel using it.
#include <gtest/gtest.h>

#include "engine/format/format.hpp"
#include "engine/mount.hpp"
#include "ioctl/mountinfo.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

EngineOutcome format(const std::string& dev, const std::string& fstype, const std::string& label) {
  engine::FormatRequest req;
  req.device = dev;
  req.fstype = fstype;
  req.label = label;
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(req, loop_only_context())); });
}

EngineOutcome mount(const std::string& dev, const std::string& target, const std::string& fstype, const std::string& options) {
  return engine_outcome([&] { return nlohmann::json(engine::mount({dev, target, fstype, options}, loop_only_context())); });
}

EngineOutcome unmount(const std::string& target) {
  return engine_outcome([&] { return nlohmann::json(engine::unmount(target, false, loop_only_context())); });
}

std::string options_at(const std::string& target) {
  for (auto& m : io::read_mountinfo())
    if (m.mount_point == target) return m.mount_options + " " + m.super_options;
  return "(not mounted)";
}

class FormatThenMount : public ::testing::TestWithParam<uint32_t> {};

TEST_P(FormatThenMount, Ext4) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB, GetParam());
  EngineOutcome made = format(img.dev(), "ext4", "MOSDATA");
  ASSERT_TRUE(made.ok) << made.message;
  ToolResult fsck = run_tool({"e2fsck", "-fn", img.dev()});
  EXPECT_TRUE(fsck.ok()) << fsck.out << fsck.err;
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "ext4");
  EXPECT_EQ(id["LABEL"], "MOSDATA");
  EXPECT_EQ(id["UUID"], made.result["uuid"].get<std::string>());

  TempDir dir;
  EngineOutcome m = mount(img.dev(), dir.path(), "ext4", "noatime,errors=remount-ro");
  MountGuard guard(dir.path());
  ASSERT_TRUE(m.ok) << m.message;
  EXPECT_NE(options_at(dir.path()).find("noatime"), std::string::npos) << options_at(dir.path());
  EXPECT_TRUE(write_random(dir.path() + "/f", 5000000, true).ok());
  ASSERT_TRUE(unmount(dir.path()).ok);
  fsck = run_tool({"e2fsck", "-fn", img.dev()});
  EXPECT_TRUE(fsck.ok()) << fsck.out << fsck.err;
}

TEST_P(FormatThenMount, Btrfs) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB, GetParam());
  EngineOutcome made = format(img.dev(), "btrfs", "MOSDATA");
  ASSERT_TRUE(made.ok) << made.message;
  ToolResult check = run_btrfs_check({"btrfs", "check", "--readonly", img.dev()});
  EXPECT_TRUE(check.ok()) << check.out << check.err;
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "btrfs");
  EXPECT_EQ(id["LABEL"], "MOSDATA");
  EXPECT_EQ(id["UUID"], made.result["uuid"].get<std::string>());

  TempDir dir;
  EngineOutcome m = mount(img.dev(), dir.path(), "btrfs", "noatime,compress=zstd");
  MountGuard guard(dir.path());
  ASSERT_TRUE(m.ok) << m.message;
  EXPECT_NE(options_at(dir.path()).find("compress=zstd"), std::string::npos) << options_at(dir.path());
  EXPECT_TRUE(write_random(dir.path() + "/f", 5000000, true).ok());
  ASSERT_TRUE(unmount(dir.path()).ok);
  check = run_btrfs_check({"btrfs", "check", "--readonly", img.dev()});
  EXPECT_TRUE(check.ok()) << check.out << check.err;
}

INSTANTIATE_TEST_SUITE_P(Sectors, FormatThenMount, ::testing::Values(512u, 4096u),
                         [](const auto& info) { return "Sector" + std::to_string(info.param); });

}  // namespace
}  // namespace mos::test
