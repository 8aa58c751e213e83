// btrfs members in the policy's stack walk: a request touching one member of a
// mounted btrfs is judged with all members, so an allow list naming one member of a RAID1 does
// not let a caller read, mount or run btrfs methods on a filesystem that spans a device it leaves
// out. The filesystem is made by mkfs.btrfs and mounted read-only by mount(8); sha256 of both members
// before/after every refusal.
#include <gtest/gtest.h>

#include "engine/context.hpp"
#include "engine/mount.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

engine::Context allowing(const std::string& globs) {
  engine::Context ctx = loop_only_context();
  ctx.policy = engine::Policy::from_globs(globs);
  return ctx;
}

EngineOutcome judge(const engine::Context& ctx, const std::string& dev, engine::Access access) {
  return engine_outcome([&] { return nlohmann::json(ctx.policy.judge(dev, access)); });
}

EngineOutcome judge_path(const engine::Context& ctx, const std::string& path) {
  return engine_outcome([&] {
    ctx.policy.judge_btrfs_path(path, engine::Access::read);
    return nlohmann::json("allowed");
  });
}

void expect_refused_for(const EngineOutcome& o, const std::string& culprit) {
  EXPECT_FALSE(o.ok) << o.result.dump();
  EXPECT_EQ(o.code, -32001) << o.message;
  EXPECT_NE(o.message.find(culprit), std::string::npos) << o.message;
}

struct Raid1 {
  LoopImage a{256 * MiB}, b{256 * MiB};
  TempDir dir;
  Raid1() {
    EXPECT_TRUE(run_tool({"mkfs.btrfs", "-f", "-q", "-d", "raid1", "-m", "raid1", a.dev(), b.dev()}).ok());
    EXPECT_TRUE(run_tool({"btrfs", "device", "scan", a.dev(), b.dev()}).ok());
  }
  ~Raid1() { run_tool({"btrfs", "device", "scan", "--forget", a.dev(), b.dev()}); }
  std::string mnt() const { return dir / "mnt"; }
};

TEST(BtrfsMemberPolicy, OneAllowedMemberOfAMountedRaid1IsJudgedWithTheOther) {
  MOS_REQUIRE_ROOT();
  Raid1 fs;
  ASSERT_EQ(::mkdir(fs.mnt().c_str(), 0755), 0);
  const engine::Context only_a = allowing(fs.a.dev());
  const engine::Context both = allowing(fs.a.dev() + "," + fs.b.dev());

  // Unmounted: the members are not one stack yet (the kernel has not put them together).
  EXPECT_TRUE(judge(only_a, fs.a.dev(), engine::Access::read).ok);

  // Read-only: a read-write btrfs commits on its own, and the hashes below must not move.
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", "-o", "ro", fs.a.dev(), fs.mnt()}).ok());
  MountGuard guard(fs.mnt());
  const std::string ha = sha256_of(fs.a.dev()), hb = sha256_of(fs.b.dev());

  expect_refused_for(judge(only_a, fs.a.dev(), engine::Access::read), fs.b.dev());
  expect_refused_for(judge(only_a, fs.a.dev(), engine::Access::mount), fs.b.dev());
  expect_refused_for(judge_path(only_a, fs.mnt()), fs.b.dev());
  // A second mount of the member is refused before anything is mounted.
  EngineOutcome m = engine_outcome([&] {
    return nlohmann::json(engine::mount({fs.a.dev(), fs.dir / "again", "btrfs", ""}, only_a));
  });
  expect_refused_for(m, fs.b.dev());
  // Writing stays refused for either list: the member is in use.
  EngineOutcome w = judge(both, fs.a.dev(), engine::Access::write);
  EXPECT_FALSE(w.ok);
  EXPECT_NE(w.message.find("mounted"), std::string::npos) << w.message;

  EXPECT_TRUE(judge(both, fs.a.dev(), engine::Access::read).ok);
  EngineOutcome path_ok = judge_path(both, fs.mnt());
  EXPECT_TRUE(path_ok.ok) << path_ok.message;

  // Through the daemon: a btrfs method on the filesystem is refused by the engine's policy.
  SandboxedDaemon server(fs.a.dev());
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  auto [code, message] = rpc_error(c, "storage.resize_max", {{"mount_point", fs.mnt()}});
  EXPECT_EQ(code, -32001) << message;
  EXPECT_NE(message.find(fs.b.dev()), std::string::npos) << message;
  auto [ccode, cmessage] = rpc_error(c, "storage.checksum", {{"device", fs.a.dev()}, {"algo", "xxh64"}});
  EXPECT_EQ(ccode, -32001) << cmessage;

  EXPECT_EQ(sha256_of(fs.a.dev()), ha);
  EXPECT_EQ(sha256_of(fs.b.dev()), hb);
}

}  // namespace
}  // namespace mos::test
