// Mount targets and options (issue 11 item 5): only beneath the allowed prefixes, never /, /proc,
// /sys or /dev, no symlink followed below the prefix, directories created only there, options
// from the allow list. Every call runs in a private mount namespace, so a wrong "yes" could not
// mount over the host's paths; the kernel's mountinfo and the filesystem are the oracles.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include <filesystem>

#include "engine/mount.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

EngineOutcome mount_privately(const engine::MountRequest& req, const engine::Context& ctx) {
  return engine_outcome([&] {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw Error(ErrorCode::internal, "no private mount namespace");
    auto r = engine::mount(req, ctx);
    return nlohmann::json(r);  // the namespace (and the mount) dies with the sandbox child
  });
}

struct Fixture {
  LoopImage img{64 * MiB};
  TempDir dir;  // beneath /var/tmp, which loop_only_context allows
  engine::Context ctx = loop_only_context();
  Fixture() { EXPECT_TRUE(run_tool({"mkfs.ext4", "-q", img.dev()}).ok()); }
  void refused(const std::string& target, const std::string& words, const std::string& options = "") {
    auto o = mount_privately({img.dev(), target, "ext4", options}, ctx);
    EXPECT_FALSE(o.ok) << target << " was accepted";
    EXPECT_EQ(o.code, static_cast<int>(ErrorCode::validation)) << o.message;
    EXPECT_NE(o.message.find(words), std::string::npos) << target << ": " << o.message;
  }
};

TEST(MountTarget, SystemPathsAndPathsOutsideThePrefixesAreRefused) {
  MOS_REQUIRE_ROOT();
  Fixture f;
  f.refused("/", "/ is never a mount target");
  f.refused("/etc", "not beneath an allowed prefix");
  f.refused("/usr/local/sbin/mos-policy-new", "not beneath an allowed prefix");
  f.refused("/proc/mos", "kernel pseudo-filesystem");
  f.refused("/sys/kernel/mos", "kernel pseudo-filesystem");
  f.refused("/dev/mos", "kernel pseudo-filesystem");
  f.refused("/var/tmp", "not beneath an allowed prefix");  // the prefix itself is not a target
  EXPECT_FALSE(std::filesystem::exists("/usr/local/sbin/mos-policy-new")) << "a refused target was created";
}

TEST(MountTarget, SymlinksBelowThePrefixAreNotFollowed) {
  MOS_REQUIRE_ROOT();
  Fixture f;
  TempDir elsewhere;
  std::filesystem::create_symlink(elsewhere.path(), f.dir / "link");
  f.refused(f.dir / "link", "is a symlink");
  f.refused(f.dir / "link/sub", "is a symlink");
  EXPECT_FALSE(std::filesystem::exists(elsewhere / "sub")) << "a directory was created through the link";
  // The control: a plain path beneath the prefix mounts (directories created) and is nosuid,nodev.
  auto ok = mount_privately({f.img.dev(), f.dir / "a/b", "ext4", "noatime"}, f.ctx);
  ASSERT_TRUE(ok.ok) << ok.message;
  EXPECT_TRUE(std::filesystem::is_directory(f.dir / "a/b"));
  EXPECT_NE(ok.result.dump().find("nosuid"), std::string::npos) << ok.result.dump();
  EXPECT_NE(ok.result.dump().find("nodev"), std::string::npos) << ok.result.dump();
}

TEST(MountTarget, OptionsOutsideTheAllowListAreRefusedByName) {
  MOS_REQUIRE_ROOT();
  Fixture f;
  f.refused(f.dir / "m", "'errors=panic' is not allowed for ext4", "errors=panic");
  f.refused(f.dir / "m", "'suid' needs privileged", "suid");
  EXPECT_FALSE(std::filesystem::exists(f.dir / "m")) << "a refused mount created its target";
}

TEST(MountTarget, UnmountNeedsAnAbsolutePath) {
  MOS_REQUIRE_ROOT();
  auto o = engine_outcome([&] { return nlohmann::json(engine::unmount("mnt", false, loop_only_context())); });
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.message.find("must be absolute"), std::string::npos) << o.message;
}

}  // namespace
}  // namespace mos::test
