// An fs volume's limit under the guest kernel (6.1: no simple quotas, so qgroups): the rpc steps
// make a btrfs with our writer, mount it and create the limited volume through storage.volume_*;
// a write past the limit fails with EDQUOT, one within it succeeds, resize raises it. After
// power-off the host reads the quota tree of the image (btrfs inspect-internal dump-tree) and runs
// btrfs check.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;

TEST(VmVolumeLimits, QgroupLimitHoldsOnTheGuestKernel) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string vol = "/mnt/data/volumes/ct";
  json steps = {
      rpc_step("storage.create_filesystem", {{"device", "/dev/vda"}, {"fstype", "btrfs"}, {"label", "MOSDATA"}}),
      rpc_step("storage.mount", {{"source", "/dev/vda"}, {"target", "/mnt/data"}, {"fstype", "btrfs"}}),
      rpc_step("storage.volume_create", {{"name", "ct"}, {"kind", "fs"}, {"limit", 16 * MiB}}),
      write_step(vol + "/within", 4 * MiB, 1),
      write_step(vol + "/past", 32 * MiB, 2),
      rpc_step("storage.volume_resize", {{"name", "ct"}, {"size", 96 * MiB}}),
      write_step(vol + "/now-fits", 32 * MiB, 3),
      rpc_step("storage.volume_show", {{"name", "ct"}})};
  steps[4]["expect_error"] = "Disk quota exceeded";
  VmSpec spec;
  spec.name = "volume_limits";
  spec.disks = {{dir / "data.img", 1024 * MiB, 512}};
  spec.scenario = {{"modules", {"btrfs"}}, {"volumes_dir", "/mnt/data/volumes"}, {"steps", steps}};
  VmResult r = run_vm(spec);
  report_wall_time("volume limits (qgroups)", r);
  expect_all_steps_ok(r, steps.size());

  const json* made = r.step(2);
  ASSERT_NE(made, nullptr) << r.explain();
  EXPECT_EQ((*made)["result"]["limit_mode"], "qgroup") << *made;
  EXPECT_EQ((*made)["result"]["limit"], 16 * MiB) << *made;
  const json* past = r.step(4);
  ASSERT_NE(past, nullptr) << r.explain();
  EXPECT_NE((*past).value("failed", "").find("Disk quota exceeded"), std::string::npos) << *past;
  const json* shown = r.step(7);
  ASSERT_NE(shown, nullptr) << r.explain();
  EXPECT_EQ((*shown)["result"]["limit"], 96 * MiB) << *shown;
  EXPECT_EQ((*shown)["result"]["limit_mode"], "qgroup") << *shown;
  EXPECT_EQ((*shown)["result"]["limit_inconsistent"], false) << *shown;

  // The quota tree as btrfs-progs reads it from the image: the limit item of the volume's qgroup.
  auto tree = test::run_tool({"btrfs", "inspect-internal", "dump-tree", "-t", "quota", dir / "data.img"});
  ASSERT_TRUE(tree.ok()) << tree.err;
  EXPECT_NE(tree.out.find("max_referenced " + std::to_string(96 * MiB)), std::string::npos) << tree.out;
  auto check = test::run_tool({"btrfs", "check", "--readonly", dir / "data.img"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

}  // namespace
}  // namespace mos::vmtest
