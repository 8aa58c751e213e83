// Partitioning operations beyond creation: damaged copies reported and repaired, non-empty
// disks refused, dry runs that write nothing, delete + resize, and signature wiping.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <unistd.h>

#include "ioctl/fd.hpp"
#include "tests/integration/gpt_support.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

nlohmann::json read_table(const std::string& dev) {
  return engine_call([&] { return nlohmann::json(engine::read_partition_table(dev)); });
}

void make_three(const std::string& dev) {
  auto r = engine_call([&] {
    engine::create_partition_table(dev, false, false);
    for (const char* n : {"a", "b", "c"}) engine::create_partition({dev, n, "linux", 64 * MiB, {}, false});
    return nlohmann::json(true);
  });
  ASSERT_EQ(r, true) << r.dump();
}

// Head and tail of the disk, where every GPT byte lives.
std::string disk_ends(const std::string& dev, uint64_t size) {
  io::Fd fd = io::Fd::open(dev, O_RDONLY);
  auto head = fd.pread_vec(MiB, 0), tail = fd.pread_vec(MiB, size - MiB);
  return std::string(head.begin(), head.end()) + std::string(tail.begin(), tail.end());
}

void flip_byte(const std::string& dev, uint64_t off) {
  io::Fd fd = io::Fd::open(dev, O_RDWR);
  uint8_t b;
  fd.pread_exact(&b, 1, off);
  b ^= 0x5a;
  fd.pwrite_exact(&b, 1, off);
  fd.fsync();
}

class GptDamage : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GptDamage, DamagedCopyIsReportedRefusedAndRepaired) {
  MOS_REQUIRE_ROOT();
  const uint32_t ss = GetParam();
  const uint64_t size = 512 * MiB;
  for (bool damage_primary : {true, false}) {
    SCOPED_TRACE(damage_primary ? "primary" : "backup");
    LoopImage img(size, ss);
    const std::string dev = img.dev();
    make_three(dev);
    auto before = sfdisk_json(dev);
    // Primary: a byte of the header (CRC breaks). Backup: a byte of its entry array.
    flip_byte(dev, damage_primary ? ss + 24 : size - ss - 16384 + 40);
    EXPECT_FALSE(sgdisk_verify(dev).clean);  // the oracle sees the damage too

    auto status = read_table(dev);
    EXPECT_EQ(status["primary_ok"], !damage_primary) << status.dump();
    EXPECT_EQ(status["backup_ok"], damage_primary) << status.dump();
    std::string err = damage_primary ? status["primary_error"] : status["backup_error"];
    EXPECT_NE(err.find(damage_primary ? "header CRC mismatch" : "entry array CRC mismatch"), std::string::npos) << err;
    EXPECT_EQ(status["partitions"].size(), 3u);

    // Edits refuse a damaged table and write nothing.
    std::string bytes = disk_ends(dev, size);
    auto refused = engine_call([&] { return nlohmann::json(engine::create_partition({dev, "d", "linux", 8 * MiB, {}, false})); });
    ASSERT_TRUE(refused.contains("error"));
    EXPECT_NE(refused["error"].get<std::string>().find("repair_partition_table"), std::string::npos) << refused.dump();
    EXPECT_EQ(disk_ends(dev, size), bytes);

    auto dry = engine_call([&] { return nlohmann::json(engine::repair_partition_table(dev, true)); });
    ASSERT_FALSE(dry.contains("error")) << dry.dump();
    auto ranges = planned_ranges(dry["plan"]);
    EXPECT_EQ(ranges.size(), 2u) << dry.dump();  // only the bad copy: its array + header
    EXPECT_EQ(ranges[0]["step"], damage_primary ? "primary" : "backup");
    EXPECT_EQ(disk_ends(dev, size), bytes);

    auto fixed = engine_call([&] { return nlohmann::json(engine::repair_partition_table(dev, false)); });
    ASSERT_FALSE(fixed.contains("error")) << fixed.dump();
    auto v = sgdisk_verify(dev);
    EXPECT_TRUE(v.clean) << v.output;
    EXPECT_EQ(sfdisk_json(dev)["partitions"], before["partitions"]);
    auto again = read_table(dev);
    EXPECT_TRUE(again["primary_ok"]);
    EXPECT_TRUE(again["backup_ok"]);
  }
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, GptDamage, ::testing::Values(512u, 4096u));

TEST(GptEngine, NonEmptyDisksNeedForce) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  const std::string dev = img.dev();
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", dev}).ok());
  auto refused = engine_call([&] { return nlohmann::json(engine::create_partition_table(dev, false, false)); });
  ASSERT_TRUE(refused.contains("error"));
  EXPECT_NE(refused["error"].get<std::string>().find("force"), std::string::npos) << refused.dump();
  EXPECT_EQ(blkid_probe(dev)["TYPE"], "ext4");  // untouched

  auto forced = engine_call([&] { return nlohmann::json(engine::create_partition_table(dev, true, false)); });
  ASSERT_FALSE(forced.contains("error")) << forced.dump();
  EXPECT_TRUE(sgdisk_verify(dev).clean);
  EXPECT_EQ(blkid_probe(dev)["PTTYPE"], "gpt");

  // A disk that already has a GPT (written by sgdisk) is refused too.
  LoopImage other(64 * MiB);
  ASSERT_TRUE(run_tool({"sgdisk", "-o", other.dev()}).ok());
  auto again = engine_call([&] { return nlohmann::json(engine::create_partition_table(other.dev(), false, false)); });
  ASSERT_TRUE(again.contains("error"));
  EXPECT_NE(again["error"].get<std::string>().find("already has a GPT"), std::string::npos) << again.dump();
  // So is a partition node instead of a disk.
  auto onpart = engine_call([&] { return nlohmann::json(engine::create_partition_table(dev + "p1", true, false)); });
  EXPECT_TRUE(onpart.contains("error"));
}

TEST(GptEngine, DryRunWritesNothingAndShowsThePlan) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 256 * MiB;
  LoopImage img(size);
  const std::string dev = img.dev();
  make_three(dev);
  std::string bytes = disk_ends(dev, size);
  auto plan = engine_call([&] { return nlohmann::json(engine::create_partition({dev, "d", "esp", 8 * MiB, {}, true})); });
  ASSERT_FALSE(plan.contains("error")) << plan.dump();
  EXPECT_TRUE(plan["dry_run"]);
  auto ranges = planned_ranges(plan["plan"]);
  ASSERT_EQ(ranges.size(), 4u) << plan.dump();
  // Backup array + header at the end first, then primary array (LBA 2) + header (LBA 1).
  EXPECT_EQ(ranges[0]["offset"], size - 512 - 16384);
  EXPECT_EQ(ranges[0]["length"], 16384);
  EXPECT_EQ(ranges[1]["offset"], size - 512);
  EXPECT_EQ(ranges[2]["offset"], 1024);
  EXPECT_EQ(ranges[3]["offset"], 512);
  bool has_add = false;
  for (const auto& c : plan["kernel_calls"])
    if (c["op"] == "blkpg_add" && c["number"] == 4 && c["start_bytes"] == 193 * MiB && c["length_bytes"] == 8 * MiB) has_add = true;
  EXPECT_TRUE(has_add) << plan.dump();
  EXPECT_EQ(plan["partition"]["start_bytes"], 193 * MiB);
  EXPECT_EQ(disk_ends(dev, size), bytes);
  EXPECT_FALSE(kernel_part(dev, 4).exists);
  EXPECT_EQ(sfdisk_json(dev)["partitions"].size(), 3u);

  for (auto fn : {std::function<nlohmann::json()>([&] { return nlohmann::json(engine::delete_partition(dev, 2, true)); }),
                  std::function<nlohmann::json()>([&] { return nlohmann::json(engine::resize_partition(dev, 3, {}, true)); }),
                  std::function<nlohmann::json()>([&] { return nlohmann::json(engine::create_partition_table(dev, true, true)); }),
                  std::function<nlohmann::json()>([&] { return nlohmann::json(engine::wipe_signatures(dev, true, true)); })}) {
    auto r = engine_call(fn);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    EXPECT_FALSE(planned_ranges(r["plan"]).empty()) << r.dump();
    EXPECT_EQ(disk_ends(dev, size), bytes);
  }
  EXPECT_TRUE(kernel_part(dev, 2).exists);
}

TEST(GptEngine, DeleteThenGrowIntoTheGap) {
  MOS_REQUIRE_ROOT();
  LoopImage img(512 * MiB, 4096);
  const std::string dev = img.dev();
  make_three(dev);  // a: 1-65 MiB, b: 65-129 MiB, c: 129-193 MiB
  auto del = engine_call([&] { return nlohmann::json(engine::delete_partition(dev, 2, false)); });
  ASSERT_FALSE(del.contains("error")) << del.dump();
  EXPECT_FALSE(kernel_part(dev, 2).exists);
  auto gaps = engine_call([&] { return nlohmann::json(engine::list_free_space(dev)); });
  ASSERT_EQ(gaps.size(), 2u) << gaps.dump();
  EXPECT_EQ(gaps[0]["start_bytes"], 65 * MiB);
  EXPECT_EQ(gaps[0]["size_bytes"], 64 * MiB);

  auto shrink = engine_call([&] { return nlohmann::json(engine::resize_partition(dev, 1, 32 * MiB, false)); });
  ASSERT_TRUE(shrink.contains("error"));
  EXPECT_NE(shrink["error"].get<std::string>().find("only growing"), std::string::npos);
  auto grow = engine_call([&] { return nlohmann::json(engine::resize_partition(dev, 1, {}, false)); });
  ASSERT_FALSE(grow.contains("error")) << grow.dump();
  EXPECT_EQ(grow["partition"]["size_bytes"], 128 * MiB);
  auto k1 = kernel_part(dev, 1);
  EXPECT_EQ(k1.start_bytes, 1 * MiB);
  EXPECT_EQ(k1.size_bytes, 128 * MiB);
  auto over = engine_call([&] { return nlohmann::json(engine::resize_partition(dev, 1, 129 * MiB, false)); });
  ASSERT_TRUE(over.contains("error"));
  EXPECT_NE(over["error"].get<std::string>().find("overlaps partition 3"), std::string::npos) << over.dump();
  auto sized = engine_call([&] { return nlohmann::json(engine::resize_partition(dev, 3, 100 * MiB, false)); });
  ASSERT_FALSE(sized.contains("error")) << sized.dump();
  EXPECT_EQ(kernel_part(dev, 3).size_bytes, 100 * MiB);
  auto v = sgdisk_verify(dev);
  EXPECT_TRUE(v.clean) << v.output;
  auto sf = sfdisk_json(dev);
  ASSERT_EQ(sf["partitions"].size(), 2u);
  EXPECT_EQ(sf["partitions"][0]["size"].get<uint64_t>() * 4096, 128 * MiB);
  EXPECT_EQ(sf["partitions"][1]["size"].get<uint64_t>() * 4096, 100 * MiB);
  auto missing = engine_call([&] { return nlohmann::json(engine::delete_partition(dev, 2, false)); });
  ASSERT_TRUE(missing.contains("error"));
  EXPECT_NE(missing["error"].get<std::string>().find("does not exist"), std::string::npos);
}

TEST(GptEngine, WipeSignaturesErasesBothGptCopies) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  const std::string dev = img.dev();
  make_three(dev);
  auto refused = engine_call([&] { return nlohmann::json(engine::wipe_signatures(dev, false, false)); });
  ASSERT_TRUE(refused.contains("error"));
  EXPECT_NE(refused["error"].get<std::string>().find("force"), std::string::npos);
  EXPECT_EQ(blkid_probe(dev)["PTTYPE"], "gpt");
  auto wiped = engine_call([&] { return nlohmann::json(engine::wipe_signatures(dev, true, false)); });
  ASSERT_FALSE(wiped.contains("error")) << wiped.dump();
  EXPECT_EQ(planned_ranges(wiped["plan"]).size(), 3u) << wiped.dump();  // MBR magic, primary and backup headers
  EXPECT_TRUE(blkid_probe(dev).empty());
  auto wipefs = run_tool({"wipefs", "--no-act", dev});
  EXPECT_TRUE(wipefs.out.empty()) << wipefs.out;
  for (int n = 1; n <= 3; ++n) EXPECT_FALSE(kernel_part(dev, n).exists);
}

}  // namespace
}  // namespace mos::test

namespace mos::test {
namespace {

TEST(GptEngine, GrownDiskBackupMovedToTheEndByRepair) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  make_three(img.dev());
  ASSERT_EQ(truncate(img.file().c_str(), 320 * MiB), 0);
  img.reattach();
  const std::string dev = img.dev();
  auto status = read_table(dev);
  EXPECT_TRUE(status["primary_ok"]) << status.dump();
  EXPECT_TRUE(status["backup_ok"]) << status.dump();
  ASSERT_EQ(status["warnings"].size(), 1u) << status.dump();
  EXPECT_NE(status["warnings"][0].get<std::string>().find("not at the last LBA"), std::string::npos);
  EXPECT_FALSE(sgdisk_verify(dev).clean);  // sgdisk notices the misplaced backup as well

  auto fixed = engine_call([&] { return nlohmann::json(engine::repair_partition_table(dev, false)); });
  ASSERT_FALSE(fixed.contains("error")) << fixed.dump();
  auto v = sgdisk_verify(dev);
  EXPECT_TRUE(v.clean) << v.output;
  auto after = read_table(dev);
  EXPECT_TRUE(after.at("warnings").empty()) << after.dump();
  // The new space is usable: the last partition grows into it.
  auto grown = engine_call([&] { return nlohmann::json(engine::resize_partition(dev, 3, {}, false)); });
  ASSERT_FALSE(grown.contains("error")) << grown.dump();
  EXPECT_GT(grown["partition"]["size_bytes"].get<uint64_t>(), 320 * MiB - 130 * MiB);
  EXPECT_TRUE(sgdisk_verify(dev).clean);
}

}  // namespace
}  // namespace mos::test
