// storage.mount / unmount / usage engine functions: filesystems made by the real mkfs tools,
// mounted by our mount-API code in the sandbox, judged by /proc/self/mountinfo and df.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "engine/mount.hpp"
#include "ioctl/mountinfo.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

EngineOutcome mount_in_sandbox(const engine::MountRequest& req) {
  return engine_outcome([&] { return nlohmann::json(engine::mount(req, loop_only_context())); });
}

EngineOutcome unmount_in_sandbox(const std::string& path) {
  return engine_outcome([&] { return nlohmann::json(engine::unmount(path, false, loop_only_context())); });
}

// The mountinfo line of the topmost mount at target, or nullopt.
std::optional<io::MountEntry> mounted_at(const std::string& target) {
  std::optional<io::MountEntry> found;
  for (auto& m : io::read_mountinfo())
    if (m.mount_point == target) found = m;
  return found;
}

bool has_option(const std::string& list, const std::string& want) {
  return ("," + list + ",").find("," + want + ",") != std::string::npos ||
         ("," + list).find("," + want + ":") != std::string::npos;  // compress=zstd:3
}

struct Ext4Image {
  LoopImage img{64 * MiB};
  Ext4Image() { EXPECT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", img.dev()}).ok()); }
};

TEST(Mount, Ext4WithNoatimeCreatesTheTargetAndUnmounts) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  const std::string target = dir / "a/b/mnt";
  EngineOutcome r = mount_in_sandbox({fs.img.dev(), target, "ext4", "noatime"});
  MountGuard guard(target);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["target"], target);
  EXPECT_FALSE(r.result["already_mounted"].get<bool>());
  auto m = mounted_at(target);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->fstype, "ext4");
  EXPECT_EQ(m->source, fs.img.dev());
  EXPECT_TRUE(has_option(m->mount_options, "noatime")) << m->mount_options;
  EXPECT_TRUE(has_option(m->mount_options, "rw")) << m->mount_options;
  // Hardened by default: the kernel reports nosuid,nodev without asking.
  EXPECT_TRUE(has_option(m->mount_options, "nosuid")) << m->mount_options;
  EXPECT_TRUE(has_option(m->mount_options, "nodev")) << m->mount_options;
  // The kernel can use it.
  EXPECT_TRUE(run_sh("echo hello > " + target + "/f && grep -q hello " + target + "/f").ok());

  // Mounting the same device at the same place again is idempotent.
  EngineOutcome again = mount_in_sandbox({fs.img.dev(), target, "ext4", "noatime"});
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_TRUE(again.result["already_mounted"].get<bool>());

  EngineOutcome u = unmount_in_sandbox(target);
  ASSERT_TRUE(u.ok) << u.message;
  EXPECT_EQ(u.result["source"], fs.img.dev());
  EXPECT_FALSE(mounted_at(target));
  EngineOutcome u2 = unmount_in_sandbox(target);
  EXPECT_FALSE(u2.ok);
  EXPECT_EQ(u2.code, -32002) << u2.message;
  EXPECT_TRUE(run_tool({"e2fsck", "-fn", fs.img.dev()}).ok());
}

TEST(Mount, ReadOnlyAndNosuidNodevNoexec) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  EngineOutcome r = mount_in_sandbox({fs.img.dev(), dir.path(), "ext4", "ro,nosuid,nodev,noexec,errors=remount-ro"});
  MountGuard guard(dir.path());
  ASSERT_TRUE(r.ok) << r.message;
  auto m = mounted_at(dir.path());
  ASSERT_TRUE(m);
  for (const char* o : {"ro", "nosuid", "nodev", "noexec"}) EXPECT_TRUE(has_option(m->mount_options, o)) << m->mount_options;
  EXPECT_TRUE(has_option(m->super_options, "ro")) << m->super_options;  // superblock read-only too
  EXPECT_TRUE(has_option(m->super_options, "errors=remount-ro")) << m->super_options;
  EXPECT_FALSE(run_sh("touch " + dir.path() + "/x").ok());
}

TEST(Mount, BtrfsCompressZstdAndNoatime) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", img.dev()}).ok());
  TempDir dir;
  EngineOutcome r = mount_in_sandbox({img.dev(), dir.path(), "btrfs", "noatime,compress=zstd,space_cache=v2,subvolid=5"});
  MountGuard guard(dir.path());
  ASSERT_TRUE(r.ok) << r.message;
  auto m = mounted_at(dir.path());
  ASSERT_TRUE(m);
  EXPECT_TRUE(has_option(m->mount_options, "noatime")) << m->mount_options;
  EXPECT_TRUE(has_option(m->super_options, "compress=zstd")) << m->super_options;
  EXPECT_TRUE(has_option(m->super_options, "space_cache=v2")) << m->super_options;
  EXPECT_TRUE(has_option(m->super_options, "subvolid=5")) << m->super_options;
  EXPECT_NE(r.result["super_options"].get<std::string>().find("compress=zstd"), std::string::npos);
}

TEST(Mount, UnknownOptionCarriesTheKernelsText) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  EngineOutcome r = mount_in_sandbox({fs.img.dev(), dir.path(), "ext4", "noatime,foo=bar"});
  MountGuard guard(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, -32001);
  // Refused by the allow list before the kernel sees it, naming the option.
  EXPECT_NE(r.message.find("mount option 'foo=bar' is not allowed for ext4"), std::string::npos) << r.message;
  EXPECT_FALSE(mounted_at(dir.path()));

  EngineOutcome t = mount_in_sandbox({fs.img.dev(), dir.path(), "nosuchfs", ""});
  EXPECT_EQ(t.code, -32001) << t.message;
  // An unknown type is refused by the type list before fsopen (which would make the kernel load a module).
  EXPECT_NE(t.message.find("fstype 'nosuchfs' is not mounted by mos_volmgr"), std::string::npos) << t.message;
  EXPECT_FALSE(mounted_at(dir.path()));
}

TEST(Mount, WrongFilesystemTypeReportsTheKernelsReason) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  EngineOutcome r = mount_in_sandbox({fs.img.dev(), dir.path(), "btrfs", ""});
  MountGuard guard(dir.path());
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.message.find(fs.img.dev()), std::string::npos) << r.message;
  EXPECT_FALSE(mounted_at(dir.path()));
}

TEST(Mount, BadSourcesAndTargetsAreRefused) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  EngineOutcome missing = mount_in_sandbox({"/dev/loop-does-not-exist", dir / "m", "ext4", ""});
  EXPECT_EQ(missing.code, -32002) << missing.message;
  EngineOutcome not_block = mount_in_sandbox({"/dev/null", dir / "m", "ext4", ""});
  EXPECT_EQ(not_block.code, -32001) << not_block.message;  // also outside /dev/loop*
  EngineOutcome relative = mount_in_sandbox({fs.img.dev(), "relative/mnt", "ext4", ""});
  EXPECT_EQ(relative.code, -32001) << relative.message;
  EngineOutcome dotdot = mount_in_sandbox({fs.img.dev(), dir.path() + "/x/../../etc", "ext4", ""});
  EXPECT_EQ(dotdot.code, -32001) << dotdot.message;
  EXPECT_NE(dotdot.message.find("'..'"), std::string::npos) << dotdot.message;
  EngineOutcome empty_item = mount_in_sandbox({fs.img.dev(), dir / "n", "ext4", "noatime,,ro"});
  EXPECT_EQ(empty_item.code, -32001) << empty_item.message;
  struct stat st {};
  EXPECT_NE(stat((dir / "x").c_str(), &st), 0);  // nothing created for refused requests
  EXPECT_NE(stat((dir / "n").c_str(), &st), 0);
  EXPECT_NE(stat((dir / "m").c_str(), &st), 0);
}

TEST(Mount, TargetHoldingAnotherMountIsRefused) {
  MOS_REQUIRE_ROOT();
  Ext4Image first, second;
  TempDir dir;
  ASSERT_TRUE(mount_in_sandbox({first.img.dev(), dir.path(), "ext4", ""}).ok);
  MountGuard guard(dir.path());
  EngineOutcome r = mount_in_sandbox({second.img.dev(), dir.path(), "ext4", ""});
  EXPECT_EQ(r.code, -32001) << r.message;
  EXPECT_NE(r.message.find("already a mount point of " + first.img.dev()), std::string::npos) << r.message;
  EXPECT_EQ(mounted_at(dir.path())->source, first.img.dev());
}

TEST(Mount, UnmountOfAPlainDirectoryIsNotFound) {
  MOS_REQUIRE_ROOT();
  TempDir dir;
  EngineOutcome r = unmount_in_sandbox(dir.path());
  EXPECT_EQ(r.code, -32002) << r.message;
  EXPECT_NE(r.message.find("not a mount point"), std::string::npos) << r.message;
  EXPECT_EQ(unmount_in_sandbox(dir / "none").code, -32002);
}

TEST(Usage, FiguresEqualDf) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  TempDir dir;
  ASSERT_TRUE(mount_in_sandbox({fs.img.dev(), dir.path(), "ext4", ""}).ok);
  MountGuard guard(dir.path());
  ASSERT_TRUE(write_random(dir.path() + "/data", 10485760, true).ok());
  EngineOutcome r = engine_outcome([] { return nlohmann::json(engine::usage()); });
  ASSERT_TRUE(r.ok) << r.message;
  ToolResult df = run_tool({"df", "-B1", "--output=size,used,avail,pcent", dir.path()});
  ASSERT_TRUE(df.ok()) << df.err;
  std::istringstream lines(df.out);
  std::string header, size, used, avail, pcent;
  std::getline(lines, header);
  lines >> size >> used >> avail >> pcent;
  bool found = false;
  for (auto& u : r.result) {
    if (u["target"] != dir.path()) continue;
    found = true;
    EXPECT_EQ(u["device"], fs.img.dev());
    EXPECT_EQ(u["fstype"], "ext4");
    EXPECT_EQ(std::to_string(u["size_bytes"].get<uint64_t>()), size);
    EXPECT_EQ(std::to_string(u["used_bytes"].get<uint64_t>()), used);
    EXPECT_EQ(std::to_string(u["available_bytes"].get<uint64_t>()), avail);
    EXPECT_EQ(std::to_string(u["use_percent"].get<unsigned>()) + "%", pcent);
    EXPECT_GE(u["used_bytes"].get<uint64_t>(), 10 * MiB);
  }
  EXPECT_TRUE(found) << r.result.dump();
}

}  // namespace
}  // namespace mos::test
