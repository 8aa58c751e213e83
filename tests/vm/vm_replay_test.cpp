// Crash consistency of a whole first boot by write-log replay (issue 18, item 7), single disk.
//
// Record: in the guest, dm-log-writes logs every write of a first boot of mos_sysvol. /dev/vda
// is 1 MiB of non-zero bytes then the 8 GiB disk (so neither vda nor the dm device reads as one
// more blank disk), /dev/vdb is the log; a loop device over the dm device at 1 MiB is the disk
// mos_sysvol provisions (the kernel gives dm devices no partitions, a loop device takes BLKPG).
// Everything is unmounted and the dm device removed, which writes the log's end mark.
// Replay: on the host, prefixes of the log (every FLUSH/FUA entry, MOS_REPLAY_POINTS (50) more
// between them, seeded by MOS_REPLAY_SEED: every write boundary when there are fewer, then writes
// torn after a seeded sector; the blank disk and the complete log) become fresh blank images; each
// guest boots mos_sysvol once on each of up to kDisksPerGuest prefixes' disks in turn (every run
// sees only its own disk, then everything is released), two guests side by side
// (MOS_REPLAY_PARALLEL); the host judges every outcome (tests/vm/replay_judge.hpp): ready and
// every oracle clean, or refused with a non-zero exit, and nothing that was complete in the
// prefix formatted again. The test prints where its time went (ReplayCost).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "tests/support/harness.hpp"
#include "tests/vm/replay_judge.hpp"
#include "tests/vm/replay_record.hpp"
#include "tests/vm/replay_run.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr size_t kDisksPerGuest = 24;    // one PCI slot each (-nodefaults leaves 30)

struct CutResult {
  Cut cut;
  Verdict verdict;
};

// Replays the cuts [first, last) onto fresh images, boots them all in one guest, judges each.
std::vector<CutResult> boot_cuts(const test::TempDir& dir, const RecordedDisk& rec, const CutPlan& plan, size_t first,
                                 size_t last, ReplayCost& cost) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<VmDisk> disks;
  std::vector<Before> before;
  std::vector<std::vector<std::string>> runs;
  for (size_t k = first; k < last; ++k) {
    const std::string img = dir / ("cut" + std::to_string(k) + ".img");
    replay_prefix(rec.log, plan.cuts[k].length, {{img, kReplayHead, kReplayDiskBytes}}, plan.cuts[k].torn);
    before.push_back(state_before(rec.things, img, plan.cuts[k].length));
    runs.push_back({std::string("vd") + char('a' + disks.size())});
    disks.push_back({img, kReplayDiskBytes, 512});
  }
  std::vector<CutResult> out;
  boot_and_judge("replay_boots_" + std::to_string(first), disks, runs, seconds_since(t0), cost,
                 [&](size_t k, const ReplayRun& run) {
                   const BootReport boot{run.exec, run.mounts, run.swaps, runs[k][0]};
                   Verdict v = judge_boot(rec.things, before[k], disks[k].path, boot);
                   if (!run.release_problem.empty()) v.violations.push_back(run.release_problem);
                   out.push_back({plan.cuts[first + k], std::move(v)});
                   std::filesystem::remove(disks[k].path);
                 });
  return out;
}

TEST(VmReplay, SingleDiskFirstBootEveryPrefix) {
  MOS_REQUIRE_VM();
  const auto t0 = std::chrono::steady_clock::now();
  test::TempDir dir;
  const std::vector<RecordedDisk> recorded = record_first_boot(dir, 1);
  ASSERT_FALSE(HasFailure());
  const RecordedDisk& rec = recorded.at(0);
  const size_t between = env_number("MOS_REPLAY_POINTS", 50);
  const CutPlan plan = plan_cuts(rec.log, between, env_number("MOS_REPLAY_SEED", 18));
  size_t write_entries = 0;
  for (const auto& e : rec.log.entries) write_entries += e.writes();
  std::printf("[ REPLAY   ] log: %zu entries, %zu writes, %zu FLUSH/FUA; %zu writes between them could be cut; "
              "%zu distinct prefixes to boot\n",
              rec.log.entries.size(), write_entries, plan.durable_entries, plan.between_candidates, plan.cuts.size());
  for (const auto& t : rec.things)
    std::printf("[ REPLAY   ] %s: magic written at entry %zu, durable from prefix %zu\n", t.name.c_str(), t.magic_write,
                t.commit + 1);
  std::fflush(stdout);  // the plan shows before the long part
  // Equal batches of at most kDisksPerGuest prefixes, booted side by side.
  const size_t batches = (plan.cuts.size() + kDisksPerGuest - 1) / kDisksPerGuest;
  std::vector<std::vector<CutResult>> by_batch(batches);
  ReplayCost cost;
  run_side_by_side(batches, [&](size_t b) {
    const size_t first = b * plan.cuts.size() / batches, last = (b + 1) * plan.cuts.size() / batches;
    by_batch[b] = boot_cuts(dir, rec, plan, first, last, cost);
  });
  std::vector<CutResult> results;
  for (auto& batch : by_batch)
    for (auto& c : batch) results.push_back(std::move(c));
  std::map<std::string, size_t> outcomes, kinds;
  size_t violated = 0;
  for (const auto& c : results) {
    ++outcomes[c.verdict.outcome];
    ++kinds[c.cut.kind];
    violated += !c.verdict.violations.empty();
    const std::string kind = c.cut.kind + (c.cut.torn ? " " + std::to_string(c.cut.torn) + "s" : "");
    std::printf("[ REPLAY   ] prefix %5zu (%4zu writes, %-10s): %-8s mode %-9s %s\n", c.cut.length, c.cut.writes,
                kind.c_str(), c.verdict.outcome.c_str(), c.verdict.mode.c_str(),
                c.verdict.violations.empty() ? "ok" : ("VIOLATION: " + c.verdict.violations.front()).c_str());
    for (const auto& v : c.verdict.violations) ADD_FAILURE() << "prefix " << c.cut.length << ": " << v;
  }
  const double wall = seconds_since(t0);
  cost.print("single-disk", wall);
  std::printf("[ REPLAY   ] single-disk: %zu prefixes replayed (%zu at FLUSH/FUA entries, %zu between, %zu with a torn "
              "last write, %zu blank/complete): ready %zu, refused %zu, broken %zu; %zu with violations; %.0f s wall\n",
              results.size(), kinds["durable"], kinds["between"], kinds["torn"], kinds["blank"] + kinds["complete"], outcomes["ready"],
              outcomes["refused"], outcomes["broken"], violated, wall);
  RecordProperty("replay_prefixes", std::to_string(results.size()));
  RecordProperty("replay_ready", std::to_string(outcomes["ready"]));
  RecordProperty("replay_refused", std::to_string(outcomes["refused"]));
  RecordProperty("replay_violations", std::to_string(violated));
  EXPECT_EQ(results.size(), plan.cuts.size());
  EXPECT_GE(kinds["between"] + kinds["torn"], between)
      << "fewer points between the FLUSH/FUA entries than asked";
}

}  // namespace
}  // namespace mos::vmtest
