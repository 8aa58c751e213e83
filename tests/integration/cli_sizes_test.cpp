// The CLI's size arguments (one parser: suffixes, % of the disk, overflow) and create-partition's
// output (the partition; the write plan only with --verbose or --dry-run), judged by sfdisk.
#include <gtest/gtest.h>

#include "tests/integration/gpt_support.hpp"
#include "tests/support/daemon.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

uint64_t sfdisk_bytes(const nlohmann::json& sf, size_t i) {
  return sf["partitions"][i]["size"].get<uint64_t>() * sf.value("sectorsize", 512);
}

TEST(CliSizes, SuffixesPercentAndPlanOutput) {
  MOS_REQUIRE_ROOT();
  LoopImage img(1024 * MiB);
  const std::string dev = img.dev();
  SandboxedDaemon d(dev + "," + dev + "p*");
  ASSERT_TRUE(d.ready());
  ASSERT_TRUE(d.cli({"create-partition-table", "--disk", dev}).ok());

  auto made = d.cli({"create-partition", "--disk", dev, "--name", "a", "--part-type", "linux", "--size", "100M"});
  ASSERT_TRUE(made.ok()) << made.err;
  EXPECT_NE(made.out.find(dev + "p1"), std::string::npos) << made.out;
  EXPECT_EQ(made.out.find("STEP"), std::string::npos) << "plan printed without --verbose:\n" << made.out;

  auto verbose = d.cli({"create-partition", "--disk", dev, "--name", "b", "--part-type", "linux", "--size", "25%", "--verbose"});
  ASSERT_TRUE(verbose.ok()) << verbose.err;
  EXPECT_NE(verbose.out.find(dev + "p2"), std::string::npos) << verbose.out;
  EXPECT_NE(verbose.out.find("STEP"), std::string::npos) << verbose.out;

  auto sf = sfdisk_json(dev);
  ASSERT_EQ(sf["partitions"].size(), 2u) << sf.dump();
  EXPECT_EQ(sfdisk_bytes(sf, 0), 100 * MiB);
  EXPECT_EQ(sfdisk_bytes(sf, 1), 256 * MiB);  // 25% of 1 GiB

  auto dry = d.cli({"create-partition", "--disk", dev, "--name", "c", "--part-type", "linux", "--size", "200M", "--dry-run"});
  ASSERT_TRUE(dry.ok()) << dry.err;
  EXPECT_NE(dry.out.find("dry run"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("STEP"), std::string::npos) << dry.out;

  for (const char* bad : {"18446744073709551616", "16384P", "1.5G", "10X", "0%", "101%"}) {
    auto r = d.cli({"create-partition", "--disk", dev, "--name", "c", "--part-type", "linux", "--size", bad});
    EXPECT_NE(r.exit_code, 0) << bad;
    EXPECT_NE(r.err.find("--size"), std::string::npos) << bad << ": " << r.err;
  }
  EXPECT_EQ(sfdisk_json(dev)["partitions"].size(), 2u);  // nothing was added by the refusals
  EXPECT_TRUE(sgdisk_verify(dev).clean);
}

}  // namespace
}  // namespace mos::test
