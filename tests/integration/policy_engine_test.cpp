// Device policy lives in the engine, not in rpc/: the btrfs entry points called directly, as
// mos_sysvol, the bench or any tool would call them, with a Context whose policy leaves out the
// filesystem's loop device, refuse with -32001 naming that device, and nothing is done. Oracles:
// `btrfs subvolume list`, `qgroup show`, `filesystem show`, `scrub status`, `balance status` on the
// filesystem, blkid and sha256 of the device offered to add_device.
#include <gtest/gtest.h>

#include <functional>
#include <utility>
#include <vector>

#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/json.hpp"
#include "engine/btrfs/quota.hpp"
#include "engine/btrfs/scrub.hpp"
#include "engine/btrfs/subvolumes.hpp"
#include "engine/jobs/state_scrub.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/engine_outcome.hpp"

namespace mos::test {
namespace {

namespace bt = engine::btrfs;
using btrfsmgmt::BtrfsOnLoops;
using nlohmann::json;

constexpr uint64_t GiB = 1ull << 30;

// What the btrfs tools say about the filesystem: any change an entry point makes shows here.
std::vector<std::string> btrfs_view(const std::string& mnt) {
  std::vector<std::string> out;
  for (std::vector<std::string> argv : {std::vector<std::string>{"btrfs", "subvolume", "list", mnt},
                                        {"btrfs", "qgroup", "show", mnt},
                                        {"btrfs", "filesystem", "show", "--raw", mnt},
                                        {"btrfs", "scrub", "status", mnt},
                                        {"btrfs", "balance", "status", mnt}}) {
    auto r = run_tool(argv);
    out.push_back(argv[1] + " " + argv[2] + ": " + std::to_string(r.exit_code) + "\n" + r.out);
  }
  return out;
}

TEST(PolicyEngine, BtrfsEntryPointsRefuseAFilesystemOutsideThePolicyWithoutRpc) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, GiB, {}, btrfsmgmt::unique_label("policy-engine"));
  LoopImage spare(GiB);
  const std::string mnt = fs.mnt(), member = fs.dev(0), spare_dev = spare.dev();
  ASSERT_TRUE(run_tool({"btrfs", "subvolume", "create", mnt + "/existing"}).ok());
  ASSERT_TRUE(run_sh("mkdir " + mnt + "/dir && echo data > " + mnt + "/dir/file && sync").ok());

  // Allows the spare device alone: the filesystem's member is left out.
  engine::Context ctx = loop_only_context();
  ctx.policy = engine::Policy::from_globs(spare_dev);

  const std::vector<std::string> view_before = btrfs_view(mnt);
  const std::string spare_before = sha256_of(spare_dev);
  auto done = [](auto&& fn) {
    return [fn] {
      fn();
      return json("done");
    };
  };
  const std::vector<std::pair<std::string, std::function<json()>>> calls = {
      {"create_subvolume", [&] { return json(bt::create_subvolume("new", mnt, ctx)); }},
      {"delete_subvolume", [&] { return json(bt::delete_subvolume("existing", mnt, ctx)); }},
      {"snapshot_subvolume", [&] { return json(bt::snapshot_subvolume("existing", "snap", mnt, ctx)); }},
      {"set_quota", [&] { return json(bt::set_quota("existing", 1ull << 20, mnt, ctx)); }},
      {"scrub_check_can_start", done([&] { bt::scrub_check_can_start(mnt, ctx); })},
      {"scrub_run", [&] { return json(bt::scrub_run(mnt, false, ctx, {}, nullptr)); }},
      {"scrub_run_recorded", [&] { return json(engine::scrub_run_recorded(ctx, mnt, false, {}, nullptr, 1)); }},
      {"scrub_cancel", [&] { return json(bt::scrub_cancel(mnt, ctx)); }},
      {"balance_check_can_start", done([&] { bt::balance_check_can_start({mnt, "single", true}, ctx); })},
      {"balance_run", [&] { return json(bt::balance_run({mnt, "single", true}, ctx, {}, nullptr)); }},
      {"balance_cancel", [&] { return json(bt::balance_cancel(mnt, ctx)); }},
      {"defrag_check_can_start", done([&] { bt::defrag_check_can_start(mnt + "/dir", ctx); })},
      {"defrag of a directory", [&] { return json(bt::defrag(mnt + "/dir", ctx)); }},
      {"defrag of a file", [&] { return json(bt::defrag(mnt + "/dir/file", ctx)); }},
      {"resize_max", [&] { return json(bt::resize_max(mnt, ctx)); }},
      {"add_device", [&] { return json(bt::add_device(mnt, spare_dev, false, ctx)); }},
      {"remove_device", [&] { return json(bt::remove_device(mnt, "1", ctx)); }},
  };
  for (const auto& [what, call] : calls) {
    EngineOutcome o = engine_outcome(call);
    EXPECT_FALSE(o.ok) << what << " was allowed: " << o.result.dump();
    EXPECT_EQ(o.code, -32001) << what << ": " << o.message;
    EXPECT_NE(o.message.find(member + " is not allowed"), std::string::npos) << what << ": " << o.message;
  }

  EXPECT_EQ(btrfs_view(mnt), view_before);
  EXPECT_EQ(sha256_of(spare_dev), spare_before);
  EXPECT_TRUE(blkid_probe(spare_dev).empty());

  // The refusals were the policy's: with the member allowed as well, the same call works.
  engine::Context both = ctx;
  both.policy = engine::Policy::from_globs(member + "," + spare_dev);
  EngineOutcome made = engine_outcome([&] { return json(bt::create_subvolume("new", mnt, both)); });
  EXPECT_TRUE(made.ok) << made.message;
  EXPECT_NE(run_tool({"btrfs", "subvolume", "list", mnt}).out.find("path new"), std::string::npos);
}

}  // namespace
}  // namespace mos::test
