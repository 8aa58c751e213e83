// storage.create_filesystem's engine function on loop devices, judged by blkid, fsck.fat, the
// kernel (swapon) and by checksums proving that refused requests wrote nothing.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>

#include <algorithm>
#include <optional>
#include <fstream>

#include "engine/inventory/devices.hpp"
#include "engine/format/format.hpp"
#include "tests/support/engine_outcome.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

engine::FormatRequest request(const std::string& dev, const std::string& fstype, const std::string& label,
                              std::optional<std::string> uuid = std::nullopt) {
  engine::FormatRequest r;
  r.device = dev;
  r.fstype = fstype;
  r.label = label;
  r.uuid = std::move(uuid);
  return r;
}

EngineOutcome create(const engine::FormatRequest& req) {
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(req, loop_only_context())); });
}

struct SwapOffGuard {
  std::string dev;
  ~SwapOffGuard() { run_tool({"swapoff", dev}); }
};

class CreateFilesystemOnSectorSize : public ::testing::TestWithParam<uint32_t> {};

TEST_P(CreateFilesystemOnSectorSize, VfatPassesFsckAndBlkid) {
  MOS_REQUIRE_ROOT();
  // 4096-byte sectors need 65525 clusters of at least 4 KiB, so a bigger device.
  LoopImage img(GetParam() == 4096 ? 1024 * MiB : 100 * MiB, GetParam());
  EngineOutcome r = create(request(img.dev(), "vfat", "MOSEFI", "1A2B-3C4D"));
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["uuid"], "1A2B-3C4D");
  EXPECT_EQ(r.result["device"]["path"], img.dev());
  EXPECT_GT(r.result["plan"]["bytes_written"].get<uint64_t>(), 0u);

  ToolResult fsck = run_tool({"fsck.fat", "-n", img.dev()});
  EXPECT_TRUE(fsck.ok()) << fsck.out << fsck.err;
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "vfat");
  EXPECT_EQ(id["LABEL"], "MOSEFI");
  EXPECT_EQ(id["UUID"], "1A2B-3C4D");
  EXPECT_EQ(id["SEC_TYPE"], "");  // FAT32, not the msdos (FAT12/16) sub-type
}

TEST_P(CreateFilesystemOnSectorSize, SwapIsRecognizedAndSwapsOn) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB, GetParam());
  EngineOutcome r = create(request(img.dev(), "swap", "MOSSWAP"));
  ASSERT_TRUE(r.ok) << r.message;
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "swap");
  EXPECT_EQ(id["LABEL"], "MOSSWAP");
  EXPECT_EQ(id["UUID"], r.result["uuid"].get<std::string>());  // the random UUID we reported
  SwapOffGuard off{img.dev()};
  ToolResult on = run_tool({"swapon", img.dev()});
  EXPECT_TRUE(on.ok()) << on.err;
}

INSTANTIATE_TEST_SUITE_P(Sectors, CreateFilesystemOnSectorSize, ::testing::Values(512u, 4096u),
                         [](const auto& info) { return "Sector" + std::to_string(info.param); });

TEST(CreateFilesystem, DryRunShowsThePlanAndWritesNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage img(100 * MiB);
  write_random(img.dev(), 1048576);
  std::string before = sha256_of(img.dev());
  engine::FormatRequest req = request(img.dev(), "vfat", "DRY");
  req.force = true;  // random bytes may look like a signature to some prober
  req.dry_run = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_TRUE(r.result["dry_run"].get<bool>());
  const auto& steps = r.result["plan"]["steps"];
  ASSERT_GE(steps.size(), 2u);
  EXPECT_EQ(steps[0]["name"], "wipe-old-signatures");
  EXPECT_EQ(steps[0]["zeroes"][0]["offset"], 0);
  EXPECT_EQ(steps[0]["zeroes"][1]["offset"], 64 * MiB);  // first btrfs superblock mirror
  EXPECT_EQ(steps[0]["zeroes"][2]["offset"], 99 * MiB);  // the old GPT backup lives here
  EXPECT_GE(r.result["plan"]["bytes_zeroed"].get<uint64_t>(), 2 * MiB + 4096);
  EXPECT_EQ(sha256_of(img.dev()), before);
}

TEST(CreateFilesystem, WipesAnOldGptBackupAtTheEnd) {
  MOS_REQUIRE_ROOT();
  LoopImage img(100 * MiB);
  ASSERT_TRUE(run_tool({"sgdisk", "-o", "-n", "1:2048:0", img.dev()}).ok());
  engine::FormatRequest req = request(img.dev(), "vfat", "NOGPT");
  req.force = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  // No GPT header left at the last sector, and wipefs sees only the new vfat.
  ToolResult wipefs = run_tool({"wipefs", "--no-act", "--all", img.dev()});
  EXPECT_EQ(wipefs.out.find("gpt"), std::string::npos) << wipefs.out;
  EXPECT_EQ(wipefs.out.find("PMBR"), std::string::npos) << wipefs.out;
  EXPECT_TRUE(run_tool({"fsck.fat", "-n", img.dev()}).ok());
}

// An old ext4 (4 KiB blocks: backup superblocks at groups 1 and 3, 128 and 384 MiB) under a forced
// swap: the wipe that removes its primary removes the backups its geometry proves its own, so
// the new device never reads as that ext4 with a damaged primary (e2fsck -b would bring it back).
TEST(CreateFilesystem, ForcedFormatOverExt4AlsoWipesItsBackupSuperblocks) {
  MOS_REQUIRE_ROOT();
  LoopImage img(512 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-b", "4096", "-L", "OLDEXT", img.dev()}).ok());
  const uint64_t group_bytes = 32768ull * 4096;
  auto magic_at = [&](uint64_t group) {
    io::Fd fd = io::Fd::open(img.dev(), O_RDONLY);
    auto b = fd.pread_vec(2, group * group_bytes + (group ? 0 : 1024) + 0x38);
    return b.size() == 2 && b[0] == 0x53 && b[1] == 0xEF;
  };
  ASSERT_TRUE(magic_at(1) && magic_at(3)) << "mkfs.ext4 left no backups where expected";
  engine::FormatRequest req = request(img.dev(), "swap", "NEWSWAP");
  req.force = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_TRUE(run_tool({"blockdev", "--flushbufs", img.dev()}).ok());
  EXPECT_FALSE(magic_at(1)) << "the old ext4's group 1 backup superblock is left";
  EXPECT_FALSE(magic_at(3)) << "the old ext4's group 3 backup superblock is left";
  auto probed = engine::find_device(img.dev());
  EXPECT_EQ(probed.fstype.value_or(""), "swap");
}

// The wipe skips blocks it has just read as zeros: every block that was not zero must be
// zeroed, whatever lies between them (scattered data, one block at the very end).
TEST(CreateFilesystem, WipeZeroesEveryNonZeroBlockOfTheEdges) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 64 * MiB;
  LoopImage img(size);
  std::vector<uint64_t> dirty = {4096, 8192 + 100, 300 * 1024, MiB - 1, size - MiB, size - MiB + 70000,
                                 size - 512 * 1024 - 3, size - 1};
  {
    io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
    for (uint64_t off : dirty) fd.pwrite_exact("someone's data", 14 - (off == size - 1 ? 13 : 0), off);
    fd.fdatasync();
  }
  engine::FormatRequest req = request(img.dev(), "swap", "EDGES");
  req.force = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  ASSERT_TRUE(run_tool({"blockdev", "--flushbufs", img.dev()}).ok());
  io::Fd fd = io::Fd::open(img.dev(), O_RDONLY);
  auto nonzero_at = [&](uint64_t from, uint64_t len) -> std::optional<uint64_t> {
    auto bytes = fd.pread_vec(len, from);
    for (size_t i = 0; i < bytes.size(); ++i)
      if (bytes[i]) return from + i;
    return std::nullopt;
  };
  EXPECT_EQ(nonzero_at(4096, MiB - 4096), std::nullopt);  // past the swap header page
  EXPECT_EQ(nonzero_at(size - MiB, MiB), std::nullopt);
  EXPECT_EQ(blkid_probe(img.dev())["LABEL"], "EDGES");
}

// The old-signature wipe shares the writer's first flush when more steps follow: a crash right
// after that flush leaves neither the old filesystem nor a new one visible; swap (one step)
// keeps the wipe durable first.
// swap over swap: the wipe is left out only while the new header page replaces all it would
// change; data at the btrfs mirror (outside the read windows) still gets zeroed.
TEST(CreateFilesystem, SwapOverSwapStillZeroesWhatTheHeaderDoesNotCover) {
  MOS_REQUIRE_ROOT();
  LoopImage img(128 * MiB);
  for (bool data_at_mirror : {false, true}) {
    ASSERT_TRUE(run_tool({"mkswap", "-f", "-L", "OLDSWAP", img.dev()}).ok());
    if (data_at_mirror) {
      io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
      fd.pwrite_exact("someone's data", 14, 64 * MiB + 100);
      fd.fdatasync();
    }
    engine::FormatRequest req = request(img.dev(), "swap", "NEWSWAP");
    req.force = true;
    EngineOutcome r = create(req);
    ASSERT_TRUE(r.ok) << r.message;
    ASSERT_TRUE(run_tool({"blockdev", "--flushbufs", img.dev()}).ok());
    auto id = blkid_probe(img.dev());
    EXPECT_EQ(id["LABEL"], "NEWSWAP");
    EXPECT_EQ(id["UUID"], r.result["uuid"].get<std::string>());
    auto mirror = io::Fd::open(img.dev(), O_RDONLY).pread_vec(4096, 64 * MiB);
    EXPECT_TRUE(std::all_of(mirror.begin(), mirror.end(), [](uint8_t b) { return b == 0; })) << data_at_mirror;
    EXPECT_EQ(run_tool({"wipefs", "--no-act", img.dev()}).out.find("OLDSWAP"), std::string::npos);
  }
}

TEST(CreateFilesystem, CrashAfterTheSharedFirstFlushLeavesNoFilesystem) {
  MOS_REQUIRE_ROOT();
  struct Case {
    std::string fstype, old_tool, point;
  };
  // The last step of each writer's first flush unit (everything but the commit record).
  for (const Case& c : std::vector<Case>{{"ext4", "mkfs.btrfs", "ext4:after-metadata"},
                                         {"btrfs", "mkfs.ext4", "btrfs:after-trees"},
                                         {"vfat", "mkfs.ext4", "fat32:after-backup-boot"},
                                         {"swap", "mkfs.ext4", "swap:after-wipe-old-signatures"}}) {
    LoopImage img(256 * MiB);
    ASSERT_TRUE(run_tool({c.old_tool, c.old_tool == "mkfs.btrfs" ? "-f" : "-F", "-q", img.dev()}).ok());
    engine::FormatRequest req = request(img.dev(), c.fstype, c.fstype == "vfat" ? "NEW" : "new");
    req.force = true;
    setenv("MOS_VOLMGR_CRASH_POINT", c.point.c_str(), 1);
    EngineOutcome r = create(req);
    unsetenv("MOS_VOLMGR_CRASH_POINT");
    EXPECT_FALSE(r.ok) << c.point << " did not fire";
    EXPECT_NE(r.message.find("injected crash"), std::string::npos) << r.message;
    ASSERT_TRUE(run_tool({"blockdev", "--flushbufs", img.dev()}).ok());
    EXPECT_EQ(blkid_probe(img.dev()).count("TYPE"), 0u) << "a filesystem is visible after " << c.point;
    EXPECT_EQ(run_tool({"wipefs", "--no-act", img.dev()}).out, "") << c.point;
  }
}

// Flush requests the kernel counted for the device (/sys/block/NAME/stat, field 16).
uint64_t flush_requests(const std::string& dev) {
  const std::string stat = "/sys/block/" + dev.substr(dev.rfind('/') + 1) + "/stat";
  std::ifstream in(stat);
  std::vector<uint64_t> f;
  for (uint64_t v; in >> v;) f.push_back(v);
  if (f.size() < 16) ADD_FAILURE() << "no flush counter in " << stat;
  return f.size() < 16 ? 0 : f[15];
}

// Two flushes per format, as the kernel counts them: one after everything but the writer's
// commit record, one after it (mkfs.btrfs and mke2fs flush the same way); swap over swap one.
TEST(CreateFilesystem, TwoFlushesBeforeAndAfterTheCommitRecord) {
  MOS_REQUIRE_ROOT();
  struct Case {
    std::string fstype, old_tool;
    uint64_t flushes;
  };
  for (const Case& c : std::vector<Case>{{"ext4", "mkfs.btrfs", 2},
                                         {"btrfs", "mkfs.ext4", 2},
                                         {"vfat", "mkfs.ext4", 2},
                                         {"swap", "mkfs.ext4", 2},
                                         {"swap", "mkswap", 1}}) {
    LoopImage img(256 * MiB);
    std::vector<std::string> old{c.old_tool, c.old_tool == "mkfs.ext4" ? "-F" : "-f", img.dev()};
    if (c.old_tool != "mkswap") old.insert(old.begin() + 1, "-q");
    ASSERT_TRUE(run_tool(old).ok()) << c.old_tool;
    engine::FormatRequest req = request(img.dev(), c.fstype, c.fstype == "vfat" ? "NEW" : "new");
    req.force = true;
    const uint64_t before = flush_requests(img.dev());
    EngineOutcome r = create(req);
    ASSERT_TRUE(r.ok) << r.message;
    EXPECT_EQ(flush_requests(img.dev()) - before, c.flushes) << c.fstype << " over " << c.old_tool;
    EXPECT_EQ(blkid_probe(img.dev())["TYPE"], c.fstype) << c.fstype << " over " << c.old_tool;
  }
}

TEST(CreateFilesystem, SignatureRefusedWithoutForceAcceptedWithForce) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-L", "OLDFS", img.dev()}).ok());
  std::string before = sha256_of(img.dev());
  EngineOutcome refused = create(request(img.dev(), "swap", "NEW"));
  ASSERT_FALSE(refused.ok);
  EXPECT_EQ(refused.code, -32001);
  EXPECT_NE(refused.message.find("ext4"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("force"), std::string::npos) << refused.message;
  EXPECT_EQ(sha256_of(img.dev()), before);

  engine::FormatRequest forced = request(img.dev(), "swap", "NEW");
  forced.force = true;
  EngineOutcome r = create(forced);
  ASSERT_TRUE(r.ok) << r.message;
  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "swap");
  EXPECT_EQ(id["LABEL"], "NEW");
  EXPECT_EQ(run_tool({"wipefs", "--no-act", "--all", img.dev()}).out.find("ext4"), std::string::npos);
}

TEST(CreateFilesystem, ForceErasesBtrfsMirrorsBeyondTheFirstMiB) {
  MOS_REQUIRE_ROOT();
  LoopImage img(1024 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", img.dev()}).ok());
  auto mirror_matches = [&] {
    return run_tool({"btrfs", "inspect-internal", "dump-super", "-s", "1", img.dev()}).out.find("[match]") !=
           std::string::npos;
  };
  ASSERT_TRUE(mirror_matches());
  engine::FormatRequest req = request(img.dev(), "vfat", "NOBTRFS");
  req.force = true;
  EngineOutcome r = create(req);
  ASSERT_TRUE(r.ok) << r.message;
  ToolResult wipefs = run_tool({"wipefs", "--no-act", "--all", img.dev()});
  EXPECT_EQ(wipefs.out.find("btrfs"), std::string::npos) << wipefs.out;
  EXPECT_FALSE(mirror_matches());  // the copy at 64 MiB that blkid never looks at
  EXPECT_TRUE(run_tool({"fsck.fat", "-n", img.dev()}).ok());
}

TEST(CreateFilesystem, MountedDeviceRefusedEvenWithForce) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img.dev()}).ok());
  TempDir dir;
  ToolResult m = run_tool({"mount", "-o", "ro", img.dev(), dir.path()});
  ASSERT_TRUE(m.ok()) << m.err;
  MountGuard guard(dir.path());
  std::string before = sha256_of(img.dev());
  engine::FormatRequest req = request(img.dev(), "vfat", "NOPE");
  req.force = true;
  EngineOutcome r = create(req);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.code, -32001);
  EXPECT_NE(r.message.find("mounted at " + dir.path()), std::string::npos) << r.message;
  EXPECT_EQ(sha256_of(img.dev()), before);
}

TEST(CreateFilesystem, BadInputIsRefusedBeforeAnythingIsWritten) {
  MOS_REQUIRE_ROOT();
  LoopImage img(100 * MiB);
  write_random(img.dev(), 65536);
  std::string before = sha256_of(img.dev());
  struct Case {
    engine::FormatRequest req;
    int code;
    std::string words;
  };
  auto forced = [](engine::FormatRequest r) { r.force = true; return r; };
  std::vector<Case> cases = {
      {forced(request(img.dev(), "vfat", "lower")), -32001, "label"},
      {forced(request(img.dev(), "vfat", "TWELVE_CHARS")), -32001, "label"},
      {forced(request(img.dev(), "vfat", "OK", "1234")), -32001, "volume id"},
      {forced(request(img.dev(), "swap", "SEVENTEEN_BYTES_X")), -32001, "label"},
      {forced(request(img.dev(), "swap", "S", "not-a-uuid")), -32001, "uuid"},
      {forced(request(img.dev(), "xfs", "X")), -32602, "fstype"},
      {forced(request("/dev/loop-none", "vfat", "X")), -32002, "no such"},
  };
  engine::FormatRequest full_init_on_vfat = request(img.dev(), "vfat", "X");
  full_init_on_vfat.force = true;
  full_init_on_vfat.full_init = true;
  cases.push_back({full_init_on_vfat, -32001, "ext4 only"});
  for (const auto& c : cases) {
    EngineOutcome r = create(c.req);
    EXPECT_FALSE(r.ok) << c.req.fstype << " " << c.req.label;
    EXPECT_EQ(r.code, c.code) << r.message;
    EXPECT_NE(r.message.find(c.words), std::string::npos) << r.message;
  }
  // Too small for FAT32 is only known once the size is read: still before writing.
  LoopImage tiny(8 * MiB);
  engine::FormatRequest small = request(tiny.dev(), "vfat", "TINY");
  small.force = true;
  EngineOutcome r = create(small);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, -32001) << r.message;
  EXPECT_EQ(sha256_of(img.dev()), before);
}

TEST(CreateFilesystem, DeviceOutsideThePolicyIsRefusedFirst) {
  MOS_REQUIRE_ROOT();
  // /dev/zram0 is never opened: the policy check comes before any lookup.
  EngineOutcome r = create(request("/dev/zram0", "swap", "NO"));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, -32001);
  EXPECT_NE(r.message.find("not allowed"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace mos::test
