// Issue 19 item 4 for the read-only btrfs queries: usage, df, device stats, scrub status and
// balance status are judged (every member the kernel lists) on the handle they read through,
// and a path flipped to another filesystem after the judge reaches only the judged one.
#include <gtest/gtest.h>
#include <unistd.h>

#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/fs.hpp"
#include "engine/btrfs/json.hpp"
#include "engine/btrfs/scrub.hpp"
#include "engine/btrfs/usage.hpp"
#include "engine/context.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

namespace bt = engine::btrfs;
constexpr uint64_t MiB = 1ull << 20;

engine::Context allowing(const std::string& globs) {
  engine::Context ctx = loop_only_context();
  ctx.policy = engine::Policy::from_globs(globs);
  return ctx;
}

std::string fs_uuid(const std::string& dev) {
  ToolResult r = run_tool({"blkid", "-p", "-s", "UUID", "-o", "value", dev});
  EXPECT_TRUE(r.ok()) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

// A RAID1 over two loops mounted read-only (no commit moves the hashes of a refused read).
struct MountedRaid1 {
  LoopImage a{256 * MiB}, b{256 * MiB};
  TempDir dir;
  std::optional<MountGuard> guard;
  MountedRaid1() {
    const std::string label = "mos-judged-" + std::to_string(getpid());
    EXPECT_TRUE(run_tool({"mkfs.btrfs", "-f", "-q", "-L", label, "-d", "raid1", "-m", "raid1", a.dev(), b.dev()}).ok());
    EXPECT_TRUE(run_tool({"btrfs", "device", "scan", a.dev(), b.dev()}).ok());
    EXPECT_EQ(::mkdir(mnt().c_str(), 0755), 0);
    EXPECT_TRUE(run_tool({"mount", "-t", "btrfs", "-o", "ro", a.dev(), mnt()}).ok());
    guard.emplace(mnt());
  }
  ~MountedRaid1() {
    guard.reset();
    run_tool({"btrfs", "device", "scan", "--forget", a.dev(), b.dev()});
  }
  std::string mnt() const { return dir / "mnt"; }
};

// Before: these five read through their own open with no judge at all, so a daemon allowing
// only member a answered them for a filesystem spanning b.
TEST(BtrfsJudgedHandle, ReadQueriesJudgeEveryMemberThroughTheDaemon) {
  MOS_REQUIRE_ROOT();
  MountedRaid1 fs;
  const std::string ha = sha256_of(fs.a.dev()), hb = sha256_of(fs.b.dev());
  const char* queries[] = {"storage.fs_usage", "storage.fs_df", "storage.device_stats", "storage.scrub_status",
                           "storage.balance_status"};
  {
    SandboxedDaemon only_a(fs.a.dev());
    ASSERT_TRUE(only_a.ready());
    rpc::Client c(only_a.socket());
    for (const char* method : queries) {
      auto [code, message] = rpc_error(c, method, {{"mount_point", fs.mnt()}});
      EXPECT_EQ(code, -32001) << method << ": " << message;
      EXPECT_NE(message.find(fs.b.dev()), std::string::npos) << method << ": " << message;
    }
  }
  {
    SandboxedDaemon both(fs.a.dev() + "," + fs.b.dev());
    ASSERT_TRUE(both.ready());
    rpc::Client c(both.socket());
    for (const char* method : queries) {
      auto [code, message] = rpc_error(c, method, {{"mount_point", fs.mnt()}});
      EXPECT_EQ(code, 0) << method << ": " << message;
    }
  }
  EXPECT_FALSE(mounted_from(fs.b.dev()));
  EXPECT_EQ(sha256_of(fs.a.dev()), ha);
  EXPECT_EQ(sha256_of(fs.b.dev()), hb);
}

// The seam: open_judged_btrfs returns the judged handle and the query takes it, so the test
// flips the symlink between judge and act. A (allowed) and B (outside the policy) are two
// single-device btrfs; P -> A is judged, then P -> B; the act must read A. Checked failing
// against a two-open mutant (the handle overloads re-opening fs.path()).
TEST(BtrfsJudgedHandle, SymlinkFlippedAfterTheJudgeReachesOnlyTheJudgedFilesystem) {
  MOS_REQUIRE_ROOT();
  LoopImage a{256 * MiB}, b{256 * MiB};
  TempDir dir;
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-f", "-q", a.dev()}).ok());
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-f", "-q", b.dev()}).ok());
  const std::string uuid_a = fs_uuid(a.dev()), uuid_b = fs_uuid(b.dev());
  ASSERT_NE(uuid_a, uuid_b);
  const std::string mnt_a = dir / "a", mnt_b = dir / "b", link = dir / "p";
  ASSERT_EQ(::mkdir(mnt_a.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(mnt_b.c_str(), 0755), 0);
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", "-o", "ro", a.dev(), mnt_a}).ok());
  MountGuard guard_a(mnt_a);
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", "-o", "ro", b.dev(), mnt_b}).ok());
  MountGuard guard_b(mnt_b);
  const engine::Context only_a = allowing(a.dev());

  ASSERT_EQ(::symlink(mnt_a.c_str(), link.c_str()), 0);
  io::Fd judged = bt::open_judged_btrfs(link, only_a);
  ASSERT_EQ(::unlink(link.c_str()), 0);
  ASSERT_EQ(::symlink(mnt_b.c_str(), link.c_str()), 0);

  EXPECT_EQ(bt::fs_usage(judged).fsid, uuid_a);
  EXPECT_EQ(bt::fs_df(judged).fsid, uuid_a);
  EXPECT_EQ(bt::scrub_status(judged).fsid, uuid_a);
  auto stats = bt::device_stats(judged);
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].path, a.dev());

  // The path form judges what P names now: B, outside the policy.
  EngineOutcome now = engine_outcome([&] { return nlohmann::json(bt::fs_usage(link, only_a)); });
  EXPECT_EQ(now.code, -32001) << now.message;
  EXPECT_NE(now.message.find(b.dev()), std::string::npos) << now.message;
}

}  // namespace
}  // namespace mos::test
