// md RAID1 engine on the host (no md driver here; the kernel side runs in tests/vm): create's
// checks and refusals (nothing written), the superblocks create writes (judged by
// mdadm --examine and blkid), zeroed data areas, and assembly's grouping, naming, stale and
// diverged members in dry runs. Engine code runs under the exec-denying sandbox.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "engine/raid/raid.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/sysfs.hpp"
#include "mdraid/superblock.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/mdadm_examine.hpp"

namespace mos::test {
namespace {

using nlohmann::json;
constexpr uint64_t MiB = 1ull << 20;

engine::Context only(const std::vector<std::string>& devices) {
  std::string globs;
  for (const auto& d : devices) globs += (globs.empty() ? "" : ",") + d + "," + d + "p*";
  engine::Context ctx;
  ctx.policy = engine::Policy::from_globs(globs);
  return ctx;
}

EngineOutcome create(const engine::RaidCreateRequest& req, const engine::Context& ctx) {
  return engine_outcome([&] { return json(engine::create_raid(req, ctx)); });
}

EngineOutcome assemble(const engine::RaidAssembleRequest& req, const engine::Context& ctx) {
  return engine_outcome([&] { return json(engine::assemble_raids(req, ctx)); });
}

engine::RaidCreateRequest written_only(const std::string& name, const std::string& metadata,
                                       std::vector<std::string> members) {
  engine::RaidCreateRequest r;
  r.name = name;
  r.metadata = mdraid::parse_metadata(metadata);
  r.members = std::move(members);
  r.zero_members = true;
  r.start = false;  // no md driver on the host
  return r;
}

std::map<std::string, std::string> examine(const std::string& dev) { return mdadm_examine(dev); }

std::string mdadm_uuid(const std::string& blkid_uuid) {
  auto u = mdraid::parse_uuid(blkid_uuid);
  EXPECT_TRUE(u.has_value()) << blkid_uuid;
  return u ? mdraid::mdadm_uuid_text(*u) : "";
}

bool all_zero(const std::string& dev, uint64_t offset, uint64_t length) {
  io::Fd fd = io::Fd::open(dev, O_RDONLY);
  std::vector<uint8_t> buf(MiB);
  while (length) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    fd.pread_exact(buf.data(), n, offset);
    for (size_t i = 0; i < n; ++i)
      if (buf[i]) return false;
    offset += n;
    length -= n;
  }
  return true;
}

// Rewrites a member's superblock through md-format's model (what a kernel update would do).
void rewrite_superblock(const std::string& dev, const std::function<void(mdraid::Superblock&)>& edit) {
  io::Fd fd = io::Fd::open(dev, O_RDWR);
  uint64_t size = io::block_facts(fd).size_bytes;
  auto sb = mdraid::read_superblock(fd, size);
  ASSERT_TRUE(sb.has_value()) << dev;
  edit(*sb);
  auto bytes = mdraid::serialize(*sb);
  fd.pwrite_exact(bytes.data(), bytes.size(), sb->superblock_offset);
  fd.fdatasync();
  io::blk_flush_buffers(fd);
}

class MdEngineCreate : public ::testing::TestWithParam<std::tuple<std::string, uint32_t>> {};

TEST_P(MdEngineCreate, SuperblocksMatchMdadmAndDataAreasAreZero) {
  MOS_REQUIRE_ROOT();
  auto [metadata, sector] = GetParam();
  LoopImage a(96 * MiB, sector), b(80 * MiB, sector);
  write_random(a.dev(), 4 * MiB, true);  // garbage without a signature: must become zeroes
  write_random(b.dev(), 4 * MiB, true);
  auto req = written_only("mostest", metadata, {a.dev(), b.dev()});
  req.uuid = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";
  // Unrecognised data is not empty: refused without force (nothing written), zeroed with it.
  EngineOutcome refused = create(req, only({a.dev(), b.dev()}));
  ASSERT_FALSE(refused.ok);
  EXPECT_NE(refused.message.find("unrecognised data"), std::string::npos) << refused.message;
  EXPECT_FALSE(run_tool({"mdadm", "--examine", a.dev()}).ok()) << "refused, yet a superblock was written";
  req.force = true;
  EngineOutcome r = create(req, only({a.dev(), b.dev()}));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_FALSE(r.result["started"].get<bool>());
  EXPECT_FALSE(r.result["resync"].get<bool>());
  const json& array = r.result["array"];
  EXPECT_EQ(array["uuid"], req.uuid);
  EXPECT_EQ(array["metadata"], metadata);
  EXPECT_EQ(array["device"], "/dev/md_mostest");

  for (const auto& [slot, dev] : {std::pair{0, a.dev()}, std::pair{1, b.dev()}}) {
    auto ex = examine(dev);
    EXPECT_EQ(ex["Raid Level"], "raid1") << dev;
    EXPECT_EQ(ex["Raid Devices"], "2") << dev;
    EXPECT_EQ(ex["State"], "clean") << dev;  // zero_members: no resync pending
    EXPECT_NE(ex["Checksum"].find("correct"), std::string::npos) << ex["Checksum"];
    auto id = blkid_probe(dev);
    EXPECT_EQ(id["TYPE"], "linux_raid_member") << dev;
    EXPECT_EQ(id["UUID"], req.uuid) << dev;
    uint64_t data_offset = 0;
    if (metadata == "1.2") {
      EXPECT_EQ(ex["Version"], "1.2");
      EXPECT_EQ(ex["Array UUID"], mdadm_uuid(*req.uuid));
      EXPECT_EQ(ex["Name"].substr(0, 7), "mostest");
      EXPECT_EQ(ex["Device Role"], "Active device " + std::to_string(slot));
      EXPECT_EQ(ex["Array State"].substr(0, 2), "AA");
      data_offset = std::stoull(ex["Data Offset"]) * 512;  // "2048 sectors"
    } else {
      EXPECT_EQ(ex["Version"], "0.90.00");
      EXPECT_EQ(ex["UUID"], mdadm_uuid(*req.uuid));
      EXPECT_EQ(ex["Active Devices"], "2");
    }
    // The array's bytes on every member: zeroed (the smaller member sets the size).
    EXPECT_TRUE(all_zero(dev, data_offset, array["size_bytes"].get<uint64_t>())) << dev;
  }
  EXPECT_LE(array["size_bytes"].get<uint64_t>(), 80 * MiB);
}

INSTANTIATE_TEST_SUITE_P(MetadataAndSector, MdEngineCreate,
                         ::testing::Combine(::testing::Values("0.90", "1.2"), ::testing::Values(512u, 4096u)));

TEST(MdEngineCreateDegraded, OneMemberPlusMissing) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB);
  EngineOutcome r = create(written_only("half", "1.2", {"missing", a.dev()}), only({a.dev()}));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["array"]["degraded"], 1);
  EXPECT_EQ(r.result["array"]["members"][0]["state"], "missing");
  auto ex = examine(a.dev());
  EXPECT_EQ(ex["Device Role"], "Active device 1");
  EXPECT_EQ(ex["Array State"].substr(0, 2), ".A");
}

TEST(MdEngineCreateRefusals, BadRequestsWriteNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB), b(64 * MiB), other(64 * MiB);
  write_random(a.dev(), 2 * MiB, true);
  write_random(b.dev(), 2 * MiB, true);
  const std::string sum_a = sha256_of(a.dev()), sum_b = sha256_of(b.dev());
  auto ctx = only({a.dev(), b.dev()});
  auto refused = [&](engine::RaidCreateRequest req, int code, const std::string& words) {
    EngineOutcome r = create(req, ctx);
    EXPECT_FALSE(r.ok) << req.name;
    EXPECT_EQ(r.code, code) << r.message;
    EXPECT_NE(r.message.find(words), std::string::npos) << r.message;
  };
  refused(written_only("bad/name", "1.2", {a.dev(), b.dev()}), -32001, "must be 1-32 characters");
  refused(written_only(std::string(33, 'x'), "1.2", {a.dev(), b.dev()}), -32001, "must be 1-32 characters");
  // Metadata text is parsed where it comes in (rpc, here the test); 1.0 is refused there.
  EngineOutcome bad_metadata = engine_outcome([] { return json(mdraid::metadata_text(mdraid::parse_metadata("1.0"))); });
  EXPECT_EQ(bad_metadata.code, -32001) << bad_metadata.message;
  EXPECT_NE(bad_metadata.message.find("1.0"), std::string::npos) << bad_metadata.message;
  refused(written_only("ok", "1.2", {a.dev(), b.dev(), b.dev()}), -32001, "two members");
  refused(written_only("ok", "1.2", {"missing", "missing"}), -32001, "at least one device");
  refused(written_only("ok", "1.2", {a.dev(), a.dev()}), -32001, "named twice");
  refused(written_only("ok", "1.2", {a.dev(), other.dev()}), -32001, "not allowed");
  auto bad_uuid = written_only("ok", "1.2", {a.dev(), b.dev()});
  bad_uuid.uuid = "not-a-uuid";
  refused(bad_uuid, -32001, "not a UUID");
  EXPECT_EQ(sha256_of(a.dev()), sum_a);
  EXPECT_EQ(sha256_of(b.dev()), sum_b);

  // A filesystem on a member: refused without force; a mounted one even with force.
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", b.dev()}).ok());
  const std::string sum_fs = sha256_of(b.dev());
  refused(written_only("ok", "1.2", {b.dev(), a.dev()}), -32001, "ext4");
  // Data the prober cannot name is not empty either (a holds random bytes from offset 0).
  refused(written_only("ok", "1.2", {a.dev(), b.dev()}), -32001, a.dev() + " carries unrecognised data at offset 0");
  EXPECT_EQ(sha256_of(b.dev()), sum_fs);
  TempDir mnt;
  ASSERT_TRUE(run_tool({"mount", b.dev(), mnt.path()}).ok());
  {
    MountGuard unmount(mnt.path());
    auto forced = written_only("ok", "1.2", {a.dev(), b.dev()});
    forced.force = true;
    refused(forced, -32001, "mounted");
  }
  // The mount itself updated the ext4 superblock; what must hold: no md superblock anywhere.
  EXPECT_EQ(sha256_of(a.dev()), sum_a);
  EXPECT_EQ(blkid_probe(b.dev())["TYPE"], "ext4");
  EXPECT_FALSE(run_tool({"mdadm", "--examine", b.dev()}).ok());
}

TEST(MdEngineCreateRefusals, StartWithoutTheMdDriverFailsBeforeWriting) {
  MOS_REQUIRE_ROOT();
  if (io::sysfs_exists("/sys/module/md_mod")) GTEST_SKIP() << "this host has an md driver";
  LoopImage a(64 * MiB), b(64 * MiB);
  const std::string sum_a = sha256_of(a.dev());
  auto req = written_only("nodriver", "1.2", {a.dev(), b.dev()});
  req.start = true;
  auto ctx = only({a.dev(), b.dev(), "/dev/md_nodriver"});
  EngineOutcome r = create(req, ctx);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, -32000);
  EXPECT_NE(r.message.find("md driver"), std::string::npos) << r.message;
  EXPECT_EQ(sha256_of(a.dev()), sum_a);
  // The md device itself is judged by the policy too.
  EngineOutcome p = create(req, only({a.dev(), b.dev()}));
  EXPECT_EQ(p.code, -32001) << p.message;
  EXPECT_NE(p.message.find("/dev/md_nodriver"), std::string::npos) << p.message;
}

TEST(MdEngineCreateRefusals, DryRunShowsPlansAndWritesNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB), b(64 * MiB);
  const std::string sum_a = sha256_of(a.dev());
  auto req = written_only("dry", "0.90", {a.dev(), b.dev()});
  req.dry_run = true;
  EngineOutcome r = create(req, only({a.dev(), b.dev()}));
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_EQ(r.result["members"].size(), 2u);
  const json& steps = r.result["members"][0]["plan"]["steps"];
  EXPECT_EQ(steps[0]["name"], "wipe-old-signatures");
  EXPECT_EQ(steps[1]["name"], "zero-data-area");
  EXPECT_GT(r.result["members"][0]["plan"]["bytes_written"].get<uint64_t>(), 0u);
  EXPECT_EQ(sha256_of(a.dev()), sum_a);
}

// --- assembly (dry runs: the kernel step is the VM's) ---------------------------------------

json sorted(json a) {
  std::sort(a.begin(), a.end());
  return a;
}

json only_array(const EngineOutcome& r) {
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["arrays"].size(), 1u) << r.result.dump();
  return r.result["arrays"].empty() ? json::object() : r.result["arrays"][0];
}

TEST(MdEngineAssemble, GroupsByUuidAndNamesArrays) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB), b(64 * MiB), c(64 * MiB), d(64 * MiB);
  auto ctx = only({a.dev(), b.dev(), c.dev(), d.dev()});
  // 0.90 on GPT partitions named MOSEFI: the array is named after them.
  for (const auto* img : {&c, &d}) {
    auto made = run_sh("set -e; D=" + img->dev() + "; sgdisk -o -n1:2048:+40M -c1:MOSEFI -t1:fd00 $D >/dev/null; " +
                       // partx races udev on a freshly reused loop device: retry briefly
                       "ok=; for i in 1 2 3 4 5; do partx -u $D && ok=1 && break; sleep 0.3; done; test -n \"$ok\"; "
                       "udevadm settle; for i in $(seq 50); do test -b ${D}p1 && break; sleep 0.1; done; test -b ${D}p1");
    ASSERT_TRUE(made.ok()) << made.err << made.out;
  }
  ASSERT_TRUE(create(written_only("mosboot", "1.2", {a.dev(), b.dev()}), ctx).ok);
  EngineOutcome e = create(written_only("whatever", "0.90", {c.dev() + "p1", d.dev() + "p1"}), ctx);
  ASSERT_TRUE(e.ok) << e.message;

  engine::RaidAssembleRequest req;
  req.dry_run = true;
  EngineOutcome r = assemble(req, ctx);
  ASSERT_TRUE(r.ok) << r.message;
  std::map<std::string, json> by_name;
  for (auto& arr : r.result["arrays"]) by_name[arr["name"]] = arr;
  ASSERT_EQ(by_name.size(), 2u) << r.result.dump(1);
  EXPECT_EQ(by_name["mosboot"]["outcome"], "would_start");
  EXPECT_EQ(by_name["mosboot"]["metadata"], "1.2");
  EXPECT_EQ(sorted(by_name["mosboot"]["members"]), sorted(json::array({a.dev(), b.dev()})));
  EXPECT_EQ(by_name["MOSEFI"]["outcome"], "would_start");
  EXPECT_EQ(by_name["MOSEFI"]["metadata"], "0.90");
  EXPECT_EQ(by_name["MOSEFI"]["uuid"], e.result["array"]["uuid"]);
  EXPECT_EQ(sorted(by_name["MOSEFI"]["members"]), sorted(json::array({c.dev() + "p1", d.dev() + "p1"})));
  EXPECT_TRUE(by_name["MOSEFI"].at("left_out").empty());

  // Filters.
  req.name = "mosboot";
  EXPECT_EQ(only_array(assemble(req, ctx))["name"], "mosboot");
  req.name.reset();
  req.uuid = e.result["array"]["uuid"];
  EXPECT_EQ(only_array(assemble(req, ctx))["name"], "MOSEFI");
  // A device outside the policy is refused, not silently skipped.
  engine::RaidAssembleRequest narrow;
  narrow.devices = {a.dev()};
  narrow.dry_run = true;
  EngineOutcome refused = assemble(narrow, only({b.dev()}));
  EXPECT_EQ(refused.code, -32001) << refused.message;
  // Only a: the array would start degraded, slot 1 missing.
  json one = only_array(assemble(narrow, ctx));
  EXPECT_EQ(one["outcome"], "would_start_degraded");
  EXPECT_EQ(one["missing_slots"], json::array({1}));
}

TEST(MdEngineAssemble, StaleMemberIsLeftOutAndReported) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB), b(64 * MiB);
  auto ctx = only({a.dev(), b.dev()});
  ASSERT_TRUE(create(written_only("stale", "1.2", {a.dev(), b.dev()}), ctx).ok);
  // a went on alone for two updates (b was absent): b is stale.
  rewrite_superblock(a.dev(), [](mdraid::Superblock& sb) { sb.events += 2; });
  EXPECT_EQ(std::stoull(examine(a.dev())["Events"]), std::stoull(examine(b.dev())["Events"]) + 2);
  engine::RaidAssembleRequest req;
  req.dry_run = true;
  json arr = only_array(assemble(req, ctx));
  EXPECT_EQ(arr["outcome"], "would_start_degraded");
  EXPECT_EQ(arr["members"], json::array({a.dev()}));
  EXPECT_EQ(arr["missing_slots"], json::array({1}));
  ASSERT_EQ(arr["left_out"].size(), 1u);
  EXPECT_EQ(arr["left_out"][0]["device"], b.dev());
  EXPECT_NE(arr["left_out"][0]["reason"].get<std::string>().find("stale"), std::string::npos) << arr.dump();

  // One event behind still counts as fresh (as in the kernel).
  rewrite_superblock(b.dev(), [](mdraid::Superblock& sb) { sb.events += 1; });
  arr = only_array(assemble(req, ctx));
  EXPECT_EQ(arr["outcome"], "would_start");
  EXPECT_TRUE(arr.at("left_out").empty());
}

TEST(MdEngineAssemble, DivergedMemberIsLeftOutAndReported) {
  MOS_REQUIRE_ROOT();
  LoopImage a(64 * MiB), b(64 * MiB);
  auto ctx = only({a.dev(), b.dev()});
  ASSERT_TRUE(create(written_only("split", "1.2", {a.dev(), b.dev()}), ctx).ok);
  // The freshest member records b's device as faulty while b still claims its slot.
  uint32_t b_number = 0;
  rewrite_superblock(b.dev(), [&](mdraid::Superblock& sb) { b_number = sb.dev_number; });
  rewrite_superblock(a.dev(), [&](mdraid::Superblock& sb) {
    sb.events += 1;
    sb.roles[b_number] = mdraid::kRoleFaulty;
  });
  engine::RaidAssembleRequest req;
  req.dry_run = true;
  json arr = only_array(assemble(req, ctx));
  EXPECT_EQ(arr["outcome"], "would_start_degraded");
  ASSERT_EQ(arr["left_out"].size(), 1u) << arr.dump();
  EXPECT_EQ(arr["left_out"][0]["device"], b.dev());
  EXPECT_NE(arr["left_out"][0]["reason"].get<std::string>().find("diverged"), std::string::npos) << arr.dump();
}

TEST(MdEngineAssemble, WithoutTheMdDriverTheArrayFailsWithTheReason) {
  MOS_REQUIRE_ROOT();
  if (io::sysfs_exists("/sys/module/md_mod")) GTEST_SKIP() << "this host has an md driver";
  LoopImage a(64 * MiB), b(64 * MiB);
  auto ctx = only({a.dev(), b.dev(), "/dev/md_nodrv"});
  ASSERT_TRUE(create(written_only("nodrv", "1.2", {a.dev(), b.dev()}), ctx).ok);
  json arr = only_array(assemble(engine::RaidAssembleRequest{}, ctx));
  EXPECT_EQ(arr["outcome"], "failed");
  EXPECT_NE(arr["error"].get<std::string>().find("md driver"), std::string::npos) << arr.dump();
}

TEST(MdEngineStatus, NoArraysOnAHostWithoutMd) {
  MOS_REQUIRE_ROOT();
  if (io::sysfs_exists("/sys/module/md_mod")) GTEST_SKIP() << "this host has an md driver";
  EngineOutcome r = engine_outcome([] { return json(engine::list_raids(engine::Context{})); });
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result, json::array());
  EngineOutcome s = engine_outcome([] { return json(engine::stop_raid("mosefi", engine::Context{})); });
  EXPECT_EQ(s.code, -32002) << s.message;
}

}  // namespace
}  // namespace mos::test
