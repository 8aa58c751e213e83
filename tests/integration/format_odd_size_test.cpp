// A device with 4096-byte logical sectors whose size is not a whole number of them (a loop device
// over a 4 GiB + 512 byte file): every native writer formats the whole sectors instead of failing
// with an I/O error on the partial tail. Oracles: the fstype's checker and blkid.
#include <gtest/gtest.h>

#include "engine/format/format.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t GiB = 1ull << 30;

EngineOutcome format(const std::string& dev, const std::string& fstype) {
  engine::FormatRequest r;
  r.device = dev;
  r.fstype = fstype;
  r.label = "ODD";
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(r, loop_only_context())); });
}

// losetup -r --sizelimit 4GiB -b 4096 over the image file; detached at end of scope.
struct WholeSectorAlias {
  std::string dev;
  explicit WholeSectorAlias(const std::string& file) {
    ToolResult r = run_tool({"losetup", "-f", "--show", "-r", "-b", "4096", "--sizelimit", std::to_string(4 * GiB), file});
    if (r.ok()) dev = r.out.substr(0, r.out.find('\n'));
  }
  ~WholeSectorAlias() {
    if (!dev.empty()) run_tool({"losetup", "-d", dev});
  }
};

class OddSize : public ::testing::TestWithParam<std::string> {};

TEST_P(OddSize, FormatsTheWholeSectorsAndTheCheckerAgrees) {
  MOS_REQUIRE_ROOT();
  const std::string fstype = GetParam();
  LoopImage img(4 * GiB + 512, 4096);
  ToolResult size = run_tool({"blockdev", "--getsize64", img.dev()});
  ASSERT_TRUE(size.ok()) << size.err;
  ASSERT_EQ(std::stoull(size.out), 4 * GiB + 512) << "the kernel rounded the loop device itself";

  EngineOutcome o = format(img.dev(), fstype);
  ASSERT_TRUE(o.ok) << o.message;
  if (fstype == "btrfs") run_tool({"btrfs", "device", "scan", "--forget", img.dev()});
  // blkid cannot probe the odd device itself (its tail read fails, whatever made the
  // filesystem): the oracles read a read-only alias of exactly the whole sectors, which also
  // proves the filesystem claims none beyond them (the checkers compare with the device size).
  WholeSectorAlias alias(img.file());
  ASSERT_FALSE(alias.dev.empty());
  auto id = blkid_probe(alias.dev);
  EXPECT_EQ(id["TYPE"], fstype);
  EXPECT_EQ(id["LABEL"], "ODD");
  EXPECT_EQ(id["UUID"], o.result["uuid"].get<std::string>());
  ToolResult check;
  if (fstype == "vfat") check = run_tool({"fsck.fat", "-n", alias.dev});
  else if (fstype == "ext4") check = run_tool({"e2fsck", "-fn", alias.dev});
  else if (fstype == "btrfs") check = run_btrfs_check({"btrfs", "check", "--readonly", alias.dev});
  else check = run_tool({"swaplabel", alias.dev});
  EXPECT_TRUE(check.ok()) << check.out << check.err;
  if (fstype == "btrfs") run_tool({"btrfs", "device", "scan", "--forget", alias.dev});
}

INSTANTIATE_TEST_SUITE_P(EachFstype, OddSize, ::testing::Values("vfat", "ext4", "swap", "btrfs"));

}  // namespace
}  // namespace mos::test
