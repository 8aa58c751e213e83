// The device policy judges a device together with everything it stacks on (DESIGN.md): a
// partition needs its disk allowed, a loop over a block device needs that device allowed.
#include <gtest/gtest.h>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/partition/partition.hpp"
#include "base/error.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

std::string refusal(const engine::Policy& p, const std::string& dev) {
  try {
    p.require_allowed(dev);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::validation);
    return e.what();
  }
  return {};
}

TEST(PolicyStack, PartitionNeedsItsDiskAllowed) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB);
  const std::string disk = img.dev();
  auto made = engine_outcome([&] {
    engine::create_partition_layout(disk, {{"one", "linux", 16 * MiB}}, false, false);
    return nlohmann::json::object();
  });
  ASSERT_TRUE(made.ok) << made.message;
  const std::string part = disk + "p1";
  ASSERT_EQ(run_tool({"test", "-b", part}).exit_code, 0) << "the kernel did not get partition 1";

  auto only_parts = engine::Policy::from_globs(disk + "p*");
  EXPECT_FALSE(only_parts.allowed(part));
  std::string why = refusal(only_parts, part);
  EXPECT_NE(why.find("stacks on " + disk), std::string::npos) << why;

  auto both = engine::Policy::from_globs(disk + "," + disk + "p*");
  EXPECT_TRUE(both.allowed(part));
  EXPECT_TRUE(both.allowed(disk));
  EXPECT_TRUE(engine::Policy::from_globs("/dev/loop*").allowed(part));
  EXPECT_TRUE(engine::Policy{}.allowed(part));  // no globs: every device
}

TEST(PolicyStack, LoopOverABlockDeviceNeedsThatDeviceAllowed) {
  MOS_REQUIRE_ROOT();
  LoopImage lower(32 * MiB);
  mos::test::LoopDevice upper = mos::test::LoopDevice::attach(lower.dev());
  auto just_upper = engine::Policy::from_globs(upper.path());
  EXPECT_FALSE(just_upper.allowed(upper.path()));
  std::string why = refusal(just_upper, upper.path());
  EXPECT_NE(why.find("stacks on " + lower.dev()), std::string::npos) << why;
  EXPECT_TRUE(engine::Policy::from_globs(upper.path() + "," + lower.dev()).allowed(upper.path()));
  // A loop over a regular file stacks on no device: the file's own disk is not judged.
  EXPECT_TRUE(engine::Policy::from_globs(lower.dev()).allowed(lower.dev()));
  upper.detach();
}

// Scans made for a policy (btrfs member registration, md assembly) read only allowed devices.
TEST(PolicyStack, DiscoveryReadsOnlyTheDevicesItIsAllowedTo) {
  MOS_REQUIRE_ROOT();
  LoopImage img(16 * MiB);
  ASSERT_TRUE(run_tool({"mkswap", img.dev()}).ok());
  auto fstype_of = [&](const engine::DiscoverOptions& o) -> std::optional<std::string> {
    for (const auto& d : engine::discover_devices(o))
      if (d.path == img.dev()) return d.fstype;
    ADD_FAILURE() << img.dev() << " not discovered";
    return std::nullopt;
  };
  auto policy = engine::Policy::from_globs(img.dev());
  EXPECT_EQ(fstype_of({true, [&](const engine::Device& d) { return policy.allowed(d.path); }}), "swap");
  EXPECT_EQ(fstype_of({true, [&](const engine::Device& d) { return d.path != img.dev(); }}), std::nullopt);
  EXPECT_EQ(fstype_of({}), "swap");
}

TEST(PolicyStack, PathOutsideTheGlobsIsRefusedByName) {
  auto p = engine::Policy::from_globs("/dev/loop*");
  EXPECT_FALSE(p.allowed("/dev/vda"));
  EXPECT_NE(refusal(p, "/dev/vda").find("device /dev/vda is not allowed"), std::string::npos);
}

}  // namespace
}  // namespace mos::test
