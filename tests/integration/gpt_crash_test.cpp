// Crash points: the engine is killed (abort) right after each write step of the GPT plan; our
// reader and sgdisk -v must then still find a valid table, the old one or the new one.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>

#include <cstdlib>

#include "tests/integration/gpt_support.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

struct CrashCase {
  const char* op;
  const char* point;
  uint32_t sector_size;
};

class GptCrash : public ::testing::TestWithParam<CrashCase> {};

TEST_P(GptCrash, ReaderAndSgdiskFindAValidTable) {
  MOS_REQUIRE_ROOT();
  const CrashCase c = GetParam();
  LoopImage img(256 * MiB, c.sector_size);
  const std::string dev = img.dev();
  const std::string op = c.op;
  // Starting state: a table with one partition (except for the very first table).
  if (op != "create_partition_table") {
    auto setup = engine_call([&] {
      engine::create_partition_table(dev, false, false);
      return nlohmann::json(engine::create_partition({dev, "one", "linux", 32 * MiB, {}, false}));
    });
    ASSERT_FALSE(setup.contains("error")) << setup.dump();
  }
  auto r = run_sandboxed([&] {
    setenv("MOS_VOLMGR_CRASH_POINT", c.point, 1);
    setenv("MOS_VOLMGR_CRASH_ABORT", "1", 1);
    if (op == "create_partition_table") engine::create_partition_table(dev, true, false);
    else if (op == "create_partition") engine::create_partition({dev, "two", "swap", 16 * MiB, {}, false});
    else if (op == "delete_partition") engine::delete_partition(dev, 1, false);
    else if (op == "resize_partition") engine::resize_partition(dev, 1, {}, false);
    return std::string("survived");
  });
  EXPECT_EQ(r.signal, SIGABRT) << r.text;

  auto read = engine_call([&] { return nlohmann::json(engine::read_partition_table(dev)); });
  ASSERT_FALSE(read.contains("error")) << read.dump();
  EXPECT_TRUE(read["has_gpt"]) << read.dump();
  EXPECT_TRUE(read["primary_ok"].get<bool>() || read["backup_ok"].get<bool>()) << read.dump();
  auto v = sgdisk_verify(dev);
  EXPECT_TRUE(sgdisk_finds_valid_copy(v)) << v.output;
  // sgdisk loads the same table our reader chose, and it is either the old or the new one.
  std::vector<int> ours;
  for (const auto& p : read["partitions"]) ours.push_back(p["partnum"]);
  EXPECT_EQ(sgdisk_partition_numbers(dev), ours) << v.output;
  size_t n = read["partitions"].size();
  // Backup is written first, so until the primary step completes readers see the old table.
  bool primary_written = std::string(c.point) == "gpt:after-primary";
  if (op == "create_partition") {
    EXPECT_EQ(n, primary_written ? 2u : 1u) << read.dump();
  } else if (op == "delete_partition") {
    EXPECT_EQ(n, primary_written ? 0u : 1u) << read.dump();
  } else if (op == "resize_partition") {
    uint64_t size = read["partitions"][0]["size_bytes"];
    EXPECT_EQ(size > 32 * MiB, primary_written) << read.dump();
  }
  // repair_partition_table brings back two matching copies, and sgdisk still agrees.
  auto fixed = engine_call([&] {
    engine::repair_partition_table(dev, false);
    return nlohmann::json(engine::read_partition_table(dev));
  });
  ASSERT_FALSE(fixed.contains("error")) << fixed.dump();
  EXPECT_TRUE(fixed["primary_ok"]);
  EXPECT_TRUE(fixed["backup_ok"]);
  EXPECT_TRUE(sgdisk_verify(dev).clean);
}

INSTANTIATE_TEST_SUITE_P(
    Points, GptCrash,
    ::testing::Values(CrashCase{"create_partition_table", "gpt:after-backup", 512},
                      CrashCase{"create_partition_table", "gpt:after-primary", 512},
                      CrashCase{"create_partition", "gpt:after-backup", 512},
                      CrashCase{"create_partition", "gpt:after-primary", 512},
                      CrashCase{"create_partition", "gpt:after-backup", 4096},
                      CrashCase{"create_partition", "gpt:after-primary", 4096},
                      CrashCase{"delete_partition", "gpt:after-backup", 512},
                      CrashCase{"delete_partition", "gpt:after-primary", 512},
                      CrashCase{"resize_partition", "gpt:after-backup", 4096},
                      CrashCase{"resize_partition", "gpt:after-primary", 4096}),
    [](const auto& info) {
      std::string s = std::string(info.param.op) + "_" + (std::string(info.param.point).find("backup") != std::string::npos ? "after_backup" : "after_primary") + "_" + std::to_string(info.param.sector_size);
      return s;
    });

}  // namespace
}  // namespace mos::test
