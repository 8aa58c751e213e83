// vfat label "NO NAME" and volume id 0000-0000: handled as mkfs.fat handles
// them (no label entry; the id written as given), so blkid shows the same for ours as for a volume
// mkfs.fat -n "NO NAME" -i 0 made; fsck.fat -n accepts both.
#include <gtest/gtest.h>

#include "engine/format/format.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

EngineOutcome format_vfat(const std::string& dev, const std::string& label, const std::optional<std::string>& uuid) {
  engine::FormatRequest r;
  r.device = dev;
  r.fstype = "vfat";
  r.label = label;
  r.uuid = uuid;
  return engine_outcome([&] { return nlohmann::json(engine::create_filesystem(r, loop_only_context())); });
}

// blkid's view without the device name.
std::map<std::string, std::string> seen(const std::string& dev) {
  auto id = blkid_probe(dev);
  id.erase("DEVNAME");
  return id;
}

TEST(FatNoName, NoNameAndZeroVolumeIdLookLikeMkfsFat) {
  MOS_REQUIRE_ROOT();
  LoopImage ours(100 * MiB), theirs(100 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.fat", "-F", "32", "-n", "NO NAME", "-i", "0", theirs.dev()}).ok());
  EngineOutcome o = format_vfat(ours.dev(), "NO NAME", "0000-0000");
  ASSERT_TRUE(o.ok) << o.message;
  EXPECT_EQ(o.result["label"], "");
  EXPECT_TRUE(o.result["uuid"].is_null()) << o.result["uuid"];
  auto mine = seen(ours.dev()), ref = seen(theirs.dev());
  EXPECT_EQ(mine, ref);
  EXPECT_EQ(mine.count("LABEL"), 0u);
  EXPECT_EQ(mine.count("UUID"), 0u);
  EXPECT_EQ(mine["TYPE"], "vfat");
  ToolResult check = run_tool({"fsck.fat", "-n", ours.dev()});
  EXPECT_TRUE(check.ok()) << check.out << check.err;
  EXPECT_EQ(check.out.find("label"), std::string::npos) << check.out;
}

TEST(FatNoName, AnOrdinaryLabelAndRandomIdAreShown) {
  MOS_REQUIRE_ROOT();
  LoopImage img(100 * MiB);
  EngineOutcome o = format_vfat(img.dev(), "MOSEFI", std::nullopt);
  ASSERT_TRUE(o.ok) << o.message;
  auto id = seen(img.dev());
  EXPECT_EQ(id["LABEL"], "MOSEFI");
  EXPECT_EQ(id["UUID"], o.result["uuid"].get<std::string>());
  EXPECT_NE(id["UUID"], "0000-0000");
}

}  // namespace
}  // namespace mos::test
