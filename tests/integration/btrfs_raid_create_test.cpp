// storage.create_filesystem btrfs RAID1 over two loop devices (512- and 4096-byte sectors) and
// storage.mount registering forgotten members. Oracles: `btrfs check --readonly` per member,
// blkid, the kernel mounting after `btrfs device scan --forget`, `btrfs filesystem df -b`,
// `btrfs scrub start -B`, file contents after remount, sha256 of refused members.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/format/format.hpp"
#include "engine/mount.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/daemon.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

engine::FormatRequest raid1(const std::string& a, std::vector<std::string> more, const std::string& label) {
  engine::FormatRequest r;
  r.device = a;
  r.fstype = "btrfs";
  r.label = label;
  r.devices = std::move(more);
  r.profile = "raid1";
  return r;
}

EngineOutcome create(const engine::FormatRequest& req) {
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(req, loop_only_context())); });
}

EngineOutcome mount_btrfs(const std::string& dev, const std::string& target) {
  return engine_outcome([&] {
    return nlohmann::json(engine::mount({dev, target, "btrfs", ""}, loop_only_context()));
  });
}

std::string sha256(const std::string& dev) { return run_tool({"sha256sum", dev}).out.substr(0, 64); }

void forget(const std::string& a, const std::string& b) {
  ToolResult r = run_tool({"btrfs", "device", "scan", "--forget", a, b});
  EXPECT_TRUE(r.ok()) << r.err;
}

TEST(BtrfsRaidCreate, Raid1OverTwoSectorSizesChecksMountsAndScrubs) {
  MOS_REQUIRE_ROOT();
  LoopImage a(512 * MiB, 512), b(512 * MiB, 4096);
  EngineOutcome made = create(raid1(a.dev(), {b.dev()}, "MOSRAID"));
  ASSERT_TRUE(made.ok) << made.message;
  ASSERT_EQ(made.result["members"].size(), 2u);
  EXPECT_EQ(made.result["members"][0]["device"]["path"], a.dev());
  EXPECT_EQ(made.result["members"][1]["device"]["path"], b.dev());

  for (const auto& dev : {a.dev(), b.dev()}) {
    ToolResult check = run_btrfs_check({"btrfs", "check", "--readonly", dev});
    EXPECT_TRUE(check.ok()) << dev << "\n" << check.out << check.err;
  }
  auto ida = blkid_probe(a.dev()), idb = blkid_probe(b.dev());
  EXPECT_EQ(ida["TYPE"], "btrfs");
  EXPECT_EQ(idb["TYPE"], "btrfs");
  EXPECT_EQ(ida["LABEL"], "MOSRAID");
  EXPECT_EQ(idb["LABEL"], "MOSRAID");
  EXPECT_EQ(ida["UUID"], made.result["uuid"].get<std::string>());
  EXPECT_EQ(idb["UUID"], ida["UUID"]);
  EXPECT_FALSE(ida["UUID_SUB"].empty());
  EXPECT_NE(ida["UUID_SUB"], idb["UUID_SUB"]);

  TempDir dir;
  const std::string target = dir / "mnt";
  {
    forget(a.dev(), b.dev());  // as after a reboot: only our mount's scan can assemble it
    EngineOutcome m = mount_btrfs(a.dev(), target);
    MountGuard guard(target);
    ASSERT_TRUE(m.ok) << m.message;
    ToolResult df = run_tool({"btrfs", "filesystem", "df", "-b", target});
    EXPECT_NE(df.out.find("Data, RAID1"), std::string::npos) << df.out;
    EXPECT_NE(df.out.find("Metadata, RAID1"), std::string::npos) << df.out;
    EXPECT_NE(df.out.find("System, RAID1"), std::string::npos) << df.out;
    std::ofstream(target + "/hello.txt") << "mirrored on two devices\n";
  }
  {
    forget(a.dev(), b.dev());
    EngineOutcome m = mount_btrfs(b.dev(), target);  // through the other member this time
    MountGuard guard(target);
    ASSERT_TRUE(m.ok) << m.message;
    std::stringstream content;
    content << std::ifstream(target + "/hello.txt").rdbuf();
    EXPECT_EQ(content.str(), "mirrored on two devices\n");
    ToolResult scrub = run_tool({"btrfs", "scrub", "start", "-B", target});
    EXPECT_TRUE(scrub.ok()) << scrub.out << scrub.err;
    EXPECT_NE(scrub.out.find("no errors found"), std::string::npos) << scrub.out;
  }
  forget(a.dev(), b.dev());
}

TEST(BtrfsRaidCreate, DryRunShowsEveryMemberAndWritesNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage a(256 * MiB), b(256 * MiB);
  std::string ha = sha256(a.dev()), hb = sha256(b.dev());
  auto req = raid1(a.dev(), {b.dev()}, "DRY");
  req.dry_run = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_EQ(r.result["members"].size(), 2u);
  for (auto& m : r.result["members"]) EXPECT_GT(m["plan"]["bytes_written"].get<uint64_t>(), 0u);
  EXPECT_EQ(sha256(a.dev()), ha);
  EXPECT_EQ(sha256(b.dev()), hb);
}

TEST(BtrfsRaidCreate, OneMemberMountedOrSignedRefusesAndWritesNoMember) {
  MOS_REQUIRE_ROOT();
  LoopImage a(256 * MiB), b(256 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", b.dev()}).ok());
  std::string ha = sha256(a.dev()), hb = sha256(b.dev());

  EngineOutcome signed_member = create(raid1(a.dev(), {b.dev()}, "X"));
  EXPECT_FALSE(signed_member.ok);
  EXPECT_EQ(signed_member.code, -32001) << signed_member.message;
  EXPECT_NE(signed_member.message.find(b.dev()), std::string::npos) << signed_member.message;
  EXPECT_EQ(sha256(a.dev()), ha);
  EXPECT_EQ(sha256(b.dev()), hb);

  TempDir dir;
  const std::string target = dir / "ext4";
  ASSERT_TRUE(run_tool({"mkdir", "-p", target}).ok());
  ASSERT_TRUE(run_tool({"mount", "-o", "ro", b.dev(), target}).ok());
  MountGuard guard(target);
  auto forced = raid1(a.dev(), {b.dev()}, "X");
  forced.force = true;
  EngineOutcome mounted_member = create(forced);
  EXPECT_FALSE(mounted_member.ok);
  EXPECT_EQ(mounted_member.code, -32001) << mounted_member.message;
  EXPECT_EQ(sha256(a.dev()), ha);
}

TEST(BtrfsRaidCreate, Raid1OnOneDeviceAndDuplicateMembersAreRefused) {
  MOS_REQUIRE_ROOT();
  LoopImage a(256 * MiB), b(256 * MiB);
  std::string ha = sha256(a.dev()), hb = sha256(b.dev());
  EngineOutcome single = create(raid1(a.dev(), {}, "X"));
  EXPECT_EQ(single.code, -32001) << single.message;
  EXPECT_NE(single.message.find("raid1"), std::string::npos) << single.message;

  std::string name = a.dev().substr(5);  // loopN names the same device as /dev/loopN
  EngineOutcome twice = create(raid1(a.dev(), {b.dev(), name}, "X"));
  EXPECT_EQ(twice.code, -32001) << twice.message;
  EXPECT_NE(twice.message.find("twice"), std::string::npos) << twice.message;

  engine::FormatRequest ext4 = raid1(a.dev(), {b.dev()}, "X");
  ext4.fstype = "ext4";
  ext4.profile.reset();
  EXPECT_EQ(create(ext4).code, -32001);
  EXPECT_EQ(sha256(a.dev()), ha);
  EXPECT_EQ(sha256(b.dev()), hb);
}

TEST(BtrfsRaidCreate, CliCreatesRaid1OverTheSocket) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  LoopImage a(256 * MiB, 4096), b(256 * MiB);
  ToolResult made = server.cli({"create-filesystem", "--device", a.dev(), "--fstype",
                              "btrfs", "--label", "CLIRAID", "--devices", b.dev(), "--profile", "raid1"});
  ASSERT_TRUE(made.ok()) << made.out << made.err;
  EXPECT_NE(made.out.find(b.dev()), std::string::npos) << made.out;
  auto ida = blkid_probe(a.dev()), idb = blkid_probe(b.dev());
  EXPECT_EQ(ida["LABEL"], "CLIRAID");
  EXPECT_EQ(ida["UUID"], idb["UUID"]);
  EXPECT_NE(ida["UUID_SUB"], idb["UUID_SUB"]);
  for (const auto& dev : {a.dev(), b.dev()}) {
    ToolResult check = run_btrfs_check({"btrfs", "check", "--readonly", dev});
    EXPECT_TRUE(check.ok()) << dev << "\n" << check.out << check.err;
  }
  TempDir dir;
  const std::string target = dir / "mnt";
  forget(a.dev(), b.dev());
  ToolResult m = server.cli({"mount", "--source", a.dev(), "--target", target,
                           "--fstype", "btrfs"});
  MountGuard guard(target);
  ASSERT_TRUE(m.ok()) << m.out << m.err;
  ToolResult df = run_tool({"btrfs", "filesystem", "df", "-b", target});
  EXPECT_NE(df.out.find("Data, RAID1"), std::string::npos) << df.out;
}

}  // namespace
}  // namespace mos::test
