// md RAID1 bench in the guest: our create+start and assemble (in-process engine calls, timed by
// the guest's step clock) against mdadm --create --run --assume-clean and mdadm --assemble
// (fork+exec of the real tool; mdadm and its shared libraries are copied into this initramfs
// only, never into a product image). Two 1 GiB members each, 1 warm-up + 5 interleaved rounds,
// medians; ratio = mdadm time / our time. The host then checks both arrays' members with
// mdadm --examine, so a round that did not really build the arrays cannot pass.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/support/harness.hpp"
#include "tests/support/mdadm_examine.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr int kRounds = 6;  // the first is a warm-up

json exec_step(std::vector<std::string> argv) { return {{"op", "exec"}, {"argv", std::move(argv)}}; }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

TEST(VmMdBench, CreateAndAssembleVsMdadm) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::vector<std::string> ours = {"/dev/vda", "/dev/vdb"};
  json steps = json::array();
  // Step indices of the timed operations per round.
  struct Round {
    size_t our_create, our_assemble, mdadm_create, mdadm_assemble;
  };
  std::vector<Round> rounds;
  for (int i = 0; i < kRounds; ++i) {
    Round r{};
    r.our_create = steps.size();
    steps.push_back(rpc_step("storage.create_raid", {{"name", "ours"}, {"metadata", "1.2"}, {"members", ours},
                                                     {"assume_clean", true}, {"force", true}}));
    steps.push_back(rpc_step("storage.stop_raid", {{"array", "ours"}}));
    r.our_assemble = steps.size();
    steps.push_back(rpc_step("storage.assemble_raid", {{"name", "ours"}, {"devices", ours}}));
    steps.push_back(rpc_step("storage.stop_raid", {{"array", "ours"}}));
    r.mdadm_create = steps.size();
    steps.push_back(exec_step({"/bin/mdadm", "--create", "/dev/md/theirs", "--run", "--assume-clean", "--level=1",
                               "--raid-devices=2", "--metadata=1.2", "/dev/vdc", "/dev/vdd"}));
    steps.push_back(exec_step({"/bin/mdadm", "--stop", "/dev/md/theirs"}));
    r.mdadm_assemble = steps.size();
    steps.push_back(exec_step({"/bin/mdadm", "--assemble", "/dev/md/theirs", "/dev/vdc", "/dev/vdd"}));
    steps.push_back(exec_step({"/bin/mdadm", "--stop", "/dev/md/theirs"}));
    // A fresh start for the next mdadm --create (it would ask before reusing members).
    if (i + 1 < kRounds) steps.push_back(exec_step({"/bin/mdadm", "--zero-superblock", "/dev/vdc", "/dev/vdd"}));
    rounds.push_back(r);
  }
  VmSpec spec;
  spec.name = "md_bench";
  spec.disks = {{dir / "a.img", GiB}, {dir / "b.img", GiB}, {dir / "c.img", GiB}, {dir / "d.img", GiB}};
  spec.binaries["/bin/mdadm"] = "/usr/sbin/mdadm";
  spec.binaries["/lib/x86_64-linux-gnu/libudev.so.1"] = "/lib/x86_64-linux-gnu/libudev.so.1";
  spec.binaries["/lib/x86_64-linux-gnu/libc.so.6"] = "/lib/x86_64-linux-gnu/libc.so.6";
  spec.binaries["/lib64/ld-linux-x86-64.so.2"] = "/lib64/ld-linux-x86-64.so.2";
  spec.timeout_s = 600;
  spec.scenario = {{"modules", {"md-mod", "raid1"}}, {"steps", steps}};
  VmResult r = run_vm(spec);
  report_wall_time("md bench", r);
  expect_all_steps_ok(r, steps.size());
  if (HasFailure()) return;

  auto ms = [&](size_t step) { return (*r.step(step))["ms"].get<double>(); };
  std::vector<double> oc, oa, mc, ma;
  for (size_t i = 1; i < rounds.size(); ++i) {
    oc.push_back(ms(rounds[i].our_create));
    oa.push_back(ms(rounds[i].our_assemble));
    mc.push_back(ms(rounds[i].mdadm_create));
    ma.push_back(ms(rounds[i].mdadm_assemble));
  }
  std::printf("[ md bench ] create+start RAID1 2x1GiB (assume-clean): ours %.1f ms, mdadm --create --run %.1f ms, ratio %.2fx\n",
              median(oc), median(mc), median(mc) / median(oc));
  std::printf("[ md bench ] assemble: ours %.1f ms, mdadm --assemble %.1f ms, ratio %.2fx\n", median(oa), median(ma),
              median(ma) / median(oa));
  RecordProperty("create_ratio", std::to_string(median(mc) / median(oc)));
  RecordProperty("assemble_ratio", std::to_string(median(ma) / median(oa)));

  // Both sides really built RAID1 arrays.
  for (const auto& img : {dir / "a.img", dir / "c.img"}) {
    auto ex = test::mdadm_examine(img);
    EXPECT_EQ(ex["Raid Level"], "raid1") << img;
    EXPECT_EQ(ex["Raid Devices"], "2") << img;
    EXPECT_EQ(ex["State"], "clean") << img;
  }
}

}  // namespace
}  // namespace mos::vmtest
