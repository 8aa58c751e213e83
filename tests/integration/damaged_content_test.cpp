// Damaged is not blank, on loop devices (512- and 4096-byte sectors): a filesystem whose primary
// superblock is gone while its copy holds is reported by the inventory as that filesystem with
// `damaged`, and refused by the gate naming it; bytes at a btrfs mirror or an ext4 backup place
// are unrecognised data. Every refusal leaves the bytes as they were.
#include <gtest/gtest.h>
#include <fcntl.h>


#include "engine/format/format.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/partition/partition.hpp"
#include "tests/support/harness.hpp"
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
    engine::create_partition_table(dev, false, false, loop_only_context().policy);
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

INSTANTIATE_TEST_SUITE_P(Sectors, DamagedContent, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace mos::test
