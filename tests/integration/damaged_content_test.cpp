// Damaged is not blank, on loop devices (512- and 4096-byte sectors): a filesystem whose primary
// superblock is gone while its copy holds is reported by the inventory as that filesystem with
// `damaged`, and refused by the gate naming it; bytes at a btrfs mirror or an ext4 backup place
// are unrecognised data; a disk whose partition table was erased (`sgdisk --zap-all`, `wipefs
// -a`) in front of intact filesystems is refused by mos_sysvol's disk selection and by
// create_partition_table without force. Every refusal leaves the bytes as they were.
#include <gtest/gtest.h>
#include <fcntl.h>

#include <chrono>

#include "engine/erased_table.hpp"
#include "engine/format/format.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/partition/partition.hpp"
#include "ioctl/blockdev.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/damage.hpp"
#include "tests/support/engine_outcome.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

EngineOutcome format_swap(const std::string& dev, bool force) {
  return engine_outcome([&] {
    engine::FormatRequest req;
    req.device = dev;
    req.fstype = "swap";
    req.force = force;
    return nlohmann::json(engine::create_filesystem(req, loop_only_context()));
  });
}

EngineOutcome new_partition_table(const std::string& dev) {
  return engine_outcome([&] {
    engine::create_partition_table(dev, false, false, loop_only_context());
    return nlohmann::json::object();
  });
}

class DamagedContent : public ::testing::TestWithParam<uint32_t> {};

// The damage: btrfs's first MiB zeroed (its primary superblock with it); the mirror at 64 MiB holds.
TEST_P(DamagedContent, InventoryNamesItAndTheGateRefusesIt) {
  MOS_REQUIRE_ROOT();
  LoopImage img(300 * MiB, GetParam());
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", "-L", "MOSDATA", img.dev()}).ok());
  auto before = blkid_probe(img.dev());
  ASSERT_EQ(before["TYPE"], "btrfs");
  zero_range(img.dev(), 0, MiB);
  run_tool({"udevadm", "settle"});
  const std::string digest = sha256_of(img.dev());

  auto seen = engine_outcome([&] { return nlohmann::json(engine::find_device(img.dev())); });
  ASSERT_TRUE(seen.ok) << seen.message;
  EXPECT_EQ(seen.result["fstype"], "btrfs") << seen.result.dump(2);
  EXPECT_EQ(seen.result["label"], before["LABEL"]);
  EXPECT_EQ(seen.result["uuid"], before["UUID"]);
  ASSERT_TRUE(seen.result["damaged"].is_string()) << seen.result.dump(2);
  EXPECT_NE(seen.result["damaged"].get<std::string>().find("copy at 67108864 (btrfs mirror 1"), std::string::npos);

  auto refused = format_swap(img.dev(), false);
  EXPECT_FALSE(refused.ok);
  EXPECT_EQ(refused.code, static_cast<int>(ErrorCode::validation));
  EXPECT_NE(refused.message.find("carries a btrfs filesystem (LABEL=MOSDATA) whose primary superblock is damaged"),
            std::string::npos)
      << refused.message;
  EXPECT_EQ(sha256_of(img.dev()), digest) << "a refusal wrote";

  // force still formats, and the old mirrors go with the old filesystem.
  auto forced = format_swap(img.dev(), true);
  ASSERT_TRUE(forced.ok) << forced.message;
  EXPECT_TRUE(forced.result["device"]["damaged"].is_null()) << forced.result["device"].dump(2);
}

// Bytes no prober names at a btrfs mirror (64 MiB) or at the 4 KiB-block ext4 backup place of
// group 1 (128 MiB): the first and last MiB are zero, as before issue 18.
TEST_P(DamagedContent, BytesAtACopyPlaceAreUnrecognisedData) {
  MOS_REQUIRE_ROOT();
  for (uint64_t at : {64 * MiB + 100, 128 * MiB + 16}) {
    LoopImage img(600 * MiB, GetParam());
    overwrite(img.dev(), at, "SOMEONES");
    const std::string digest = sha256_of(img.dev());
    for (const auto& o : {format_swap(img.dev(), false), new_partition_table(img.dev())}) {
      EXPECT_FALSE(o.ok);
      EXPECT_NE(o.message.find("unrecognised data at offset " + std::to_string(at)), std::string::npos) << o.message;
    }
    EXPECT_EQ(sha256_of(img.dev()), digest);
  }
}

// A MOS-like disk: ESP (FAT32), boot (ext4), swap, data (btrfs), made by sgdisk and the real
// mkfs tools; then its partition table is erased by `eraser` and the kernel forgets the partitions.
void make_then_erase(const LoopImage& img, uint32_t sector, const std::string& eraser) {
  const std::string esp = sector == 4096 ? "+260M" : "+100M";
  auto made = run_sh("set -e; D=" + img.dev() + "; sgdisk -n1:0:" + esp + " -t1:ef00 -n2:0:+1G -n3:0:+1G -t3:8200 -n4:0:+2G $D >/dev/null; " +
                     "ok=; for i in 1 2 3 4 5; do partx -u $D && ok=1 && break; sleep 0.3; done; test -n \"$ok\"; udevadm settle; "
                     "for i in $(seq 50); do test -b ${D}p4 && break; sleep 0.1; done; "
                     "mkfs.vfat -F 32 -n MOSEFI ${D}p1 >/dev/null; mkfs.ext4 -q -F -L MOSBOOT -E nodiscard ${D}p2; "
                     "mkswap -L MOSSWAP ${D}p3 >/dev/null; mkfs.btrfs -q -f -K -L MOSDATA ${D}p4; sync; " +
                     eraser + " $D >/dev/null 2>&1; partx -d $D 2>/dev/null || true; udevadm settle; "
                     // every write on the backing file before its digest is taken
                     "sync; blockdev --flushbufs $D");
  ASSERT_TRUE(made.ok()) << made.err << made.out;
  ASSERT_EQ(blkid_probe(img.dev()).count("PTTYPE"), 0u) << "the table is still there";
}

class ErasedTable : public ::testing::TestWithParam<std::tuple<uint32_t, std::string>> {};

TEST_P(ErasedTable, RefusedBySysvolAndByANewPartitionTable) {
  MOS_REQUIRE_ROOT();
  const auto [sector, eraser] = GetParam();
  LoopImage img(8 * GiB, sector);
  make_then_erase(img, sector, eraser);
  const std::string before = sparse_digest(img.file());

  auto table = new_partition_table(img.dev());
  EXPECT_FALSE(table.ok) << "a new partition table over intact filesystems";
  EXPECT_EQ(table.code, static_cast<int>(ErrorCode::validation)) << table.message;

  SysvolEnv env;
  auto r = env.run(allow_list({&img}), {"--dry-run"});
  ASSERT_FALSE(r.report.is_null()) << r.log;
  EXPECT_TRUE(r.report["plan"].empty()) << r.report.dump(2);
  bool skipped = false;
  for (const auto& s : r.report["skipped"])
    if (s["what"] == img.dev()) skipped = true, std::printf("sysvol: %s\n", s["why"].get<std::string>().c_str());
  EXPECT_TRUE(skipped) << r.report.dump(2);
  if (eraser == "sgdisk --zap-all") {
    // zap-all leaves the first and last MiB zero: only the scan sees the filesystems.
    const std::string want = "holds a vfat filesystem (LABEL=MOSEFI) at 1048576";
    EXPECT_NE(table.message.find(want), std::string::npos) << table.message;
    EXPECT_NE(r.report.dump().find(want), std::string::npos) << r.report.dump(2);
  }
  EXPECT_EQ(sparse_digest(img.file()), before) << "a refusal wrote";
}

std::string erased_name(const ::testing::TestParamInfo<std::tuple<uint32_t, std::string>>& info) {
  return (std::get<1>(info.param)[0] == 's' ? "zap_all_" : "wipefs_") + std::to_string(std::get<0>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Sectors, DamagedContent, ::testing::Values(512u, 4096u));
INSTANTIATE_TEST_SUITE_P(Erasers, ErasedTable,
                         ::testing::Combine(::testing::Values(512u, 4096u),
                                            ::testing::Values(std::string("sgdisk --zap-all"), std::string("wipefs -a"))),
                         erased_name);

// What the scan costs on a blank loop disk (its whole bound: 2047 MiB boundaries, 2 reads each).
TEST(ErasedTableScan, TimeOnABlankLoopDisk) {
  MOS_REQUIRE_ROOT();
  for (uint32_t sector : {512u, 4096u}) {
    LoopImage img(8 * GiB, sector);
    io::Fd fd = io::Fd::open(img.dev(), O_RDONLY);
    auto facts = io::block_facts(fd);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE(engine::find_erased_partitions(fd, facts.size_bytes, facts.logical_sector_size));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("erased-table scan, blank 8 GiB loop disk, %u-byte sectors: %.1f ms\n", sector, ms);
    RecordProperty("scan_ms_" + std::to_string(sector), std::to_string(ms));
  }
}

}  // namespace
}  // namespace mos::test
