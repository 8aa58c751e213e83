// btrfs fsid uniqueness: storage.create_filesystem refuses a uuid that another
// btrfs already uses — made by mkfs.btrfs -U, single and RAID1, mounted (the kernel's
// /sys/fs/btrfs/<fsid>) and unmounted (the devices carrying it) — before the first write (sha256
// of every device before/after); a random uuid that collides is drawn again.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/format/btrfs_uuid.hpp"
#include "engine/format/format.hpp"
#include "base/text.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;
// Fresh per run: the kernel or another run may still know a fixed one.
std::string fresh_uuid() {
  std::ifstream f("/proc/sys/kernel/random/uuid");
  std::string u;
  std::getline(f, u);
  return u;
}

engine::Context only(const std::vector<const LoopImage*> imgs) {
  engine::Context ctx;
  std::string globs;
  for (const auto* i : imgs) {
    if (!globs.empty()) globs += ",";
    globs += i->dev();
  }
  ctx.policy = engine::Policy::from_globs(globs);
  return ctx;
}

EngineOutcome create(const engine::Context& ctx, const std::string& dev, std::vector<std::string> more,
                     const std::optional<std::string>& uuid, bool force = false) {
  engine::FormatRequest r;
  r.device = dev;
  r.fstype = "btrfs";
  r.devices = std::move(more);
  if (!r.devices.empty()) r.profile = "raid1";
  r.uuid = uuid;
  r.force = force;
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(r, ctx)); });
}

std::vector<std::string> hashes(const std::vector<const LoopImage*>& imgs) {
  std::vector<std::string> out;
  for (const auto* i : imgs) out.push_back(sha256_of(i->dev()));
  return out;
}

void forget(const std::vector<const LoopImage*>& imgs) {
  std::vector<std::string> args{"btrfs", "device", "scan", "--forget"};
  for (const auto* i : imgs) args.push_back(i->dev());
  run_tool(args);  // members may not be registered: nothing to check
}

// The existing btrfs made by the real tool, with the uuid the tests then ask for.
void mkfs_with_used_uuid(const std::vector<const LoopImage*>& members, const std::string& used) {
  std::vector<std::string> args{"mkfs.btrfs", "-f", "-q", "-U", used};
  if (members.size() > 1) args.insert(args.end(), {"-d", "raid1", "-m", "raid1"});
  for (const auto* m : members) args.push_back(m->dev());
  ToolResult r = run_tool(args);
  ASSERT_TRUE(r.ok()) << r.err;
  ASSERT_EQ(blkid_probe(members.front()->dev())["UUID"], used);
}

void expect_not_unique(const EngineOutcome& o, const std::string& user) {
  EXPECT_FALSE(o.ok) << o.result.dump();
  EXPECT_EQ(o.code, -32001) << o.message;
  EXPECT_NE(o.message.find("is not unique"), std::string::npos) << o.message;
  EXPECT_NE(o.message.find(user), std::string::npos) << o.message;
}

TEST(BtrfsUuid, SingleDeviceUnmountedAndMountedOwnerIsRefusedBeforeAnyWrite) {
  MOS_REQUIRE_ROOT();
  const std::string used = fresh_uuid();
  LoopImage old_fs(256 * MiB), target(256 * MiB);
  mkfs_with_used_uuid({&old_fs}, used);
  forget({&old_fs});
  const auto before = hashes({&old_fs, &target});

  // Unmounted: the device carrying the uuid names the conflict.
  expect_not_unique(create(only({&old_fs, &target}), target.dev(), {}, used), old_fs.dev());
  EXPECT_EQ(hashes({&old_fs, &target}), before);

  // Mounted, and not even readable under the policy: the kernel's own record names it.
  TempDir dir;
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", old_fs.dev(), dir.path()}).ok());
  {
    MountGuard guard(dir.path());
    expect_not_unique(create(only({&target}), target.dev(), {}, used), "/sys/fs/btrfs/" + used);
    expect_not_unique(create(only({&old_fs, &target}), target.dev(), {}, used), used);
  }
  forget({&old_fs});
  EXPECT_EQ(sha256_of(target.dev()), before[1]);
  EXPECT_TRUE(run_btrfs_check({"btrfs", "check", "--readonly", old_fs.dev()}).ok());

  // Re-making the owner itself (force) with its own uuid is no conflict: it is overwritten.
  EngineOutcome again = create(only({&old_fs}), old_fs.dev(), {}, used, true);
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(blkid_probe(old_fs.dev())["UUID"], used);
  forget({&old_fs});
  // And a fresh uuid elsewhere works.
  EngineOutcome fresh = create(only({&old_fs, &target}), target.dev(), {}, std::nullopt);
  ASSERT_TRUE(fresh.ok) << fresh.message;
  EXPECT_NE(fresh.result["uuid"], used);
  forget({&old_fs, &target});
}

TEST(BtrfsUuid, Raid1OwnerAndRaid1TargetAreRefusedBeforeAnyWrite) {
  MOS_REQUIRE_ROOT();
  const std::string used = fresh_uuid();
  LoopImage a(256 * MiB), b(256 * MiB), c(256 * MiB), d(256 * MiB);
  mkfs_with_used_uuid({&a, &b}, used);
  forget({&a, &b});
  const std::vector<const LoopImage*> all{&a, &b, &c, &d};
  const auto before = hashes(all);

  // Unmounted RAID1 owner, RAID1 and single targets.
  EngineOutcome raid = create(only(all), c.dev(), {d.dev()}, used);
  expect_not_unique(raid, a.dev());
  expect_not_unique(create(only(all), c.dev(), {}, used), a.dev());
  // One member of the owner in the new filesystem does not make the uuid free: b still has it.
  expect_not_unique(create(only(all), a.dev(), {c.dev()}, used, true), b.dev());
  EXPECT_EQ(hashes(all), before);

  // Mounted owner.
  TempDir dir;
  ASSERT_TRUE(run_tool({"btrfs", "device", "scan", a.dev(), b.dev()}).ok());
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", a.dev(), dir.path()}).ok());
  {
    MountGuard guard(dir.path());
    expect_not_unique(create(only({&c, &d}), c.dev(), {d.dev()}, used), "/sys/fs/btrfs/" + used);
  }
  forget({&a, &b});
  EXPECT_EQ(sha256_of(c.dev()), before[2]);
  EXPECT_EQ(sha256_of(d.dev()), before[3]);
  for (const auto* m : {&a, &b}) EXPECT_TRUE(run_btrfs_check({"btrfs", "check", "--readonly", m->dev()}).ok()) << m->dev();
}

TEST(BtrfsUuid, ARandomUuidThatCollidesIsDrawnAgain) {
  MOS_REQUIRE_ROOT();
  const std::string used = fresh_uuid();
  LoopImage old_fs(256 * MiB), target(256 * MiB);
  mkfs_with_used_uuid({&old_fs}, used);
  forget({&old_fs});
  const engine::Context ctx = only({&old_fs, &target});
  const std::string other = fresh_uuid();
  EngineOutcome o = engine_outcome([&] {
    std::vector<std::string> drawn = {used, other};
    size_t next = 0;
    auto draw = [&] { return *mos::parse_uuid(drawn.at(next++)); };
    mos::Uuid got = engine::unique_btrfs_fsid(std::nullopt, draw, {target.dev()}, ctx);
    return nlohmann::json{{"uuid", mos::uuid_text(got)}, {"draws", next}};
  });
  ASSERT_TRUE(o.ok) << o.message;
  EXPECT_EQ(o.result["uuid"], other);
  EXPECT_EQ(o.result["draws"], 2);
}

TEST(BtrfsUuid, TheDaemonRefusesFromItsModel) {
  MOS_REQUIRE_ROOT();
  const std::string used = fresh_uuid();
  LoopImage old_fs(256 * MiB), target(256 * MiB);
  mkfs_with_used_uuid({&old_fs}, used);
  forget({&old_fs});
  const auto before = hashes({&old_fs, &target});
  SandboxedDaemon server(old_fs.dev() + "," + target.dev());
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  auto [code, message] =
      rpc_error(c, "storage.create_filesystem", {{"device", target.dev()}, {"fstype", "btrfs"}, {"label", "DUP"}, {"uuid", used}});
  EXPECT_EQ(code, -32001) << message;
  EXPECT_NE(message.find("is not unique"), std::string::npos) << message;
  EXPECT_NE(message.find(old_fs.dev()), std::string::npos) << message;
  EXPECT_EQ(hashes({&old_fs, &target}), before);
}

}  // namespace
}  // namespace mos::test
