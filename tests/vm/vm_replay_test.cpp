// Crash consistency of a whole first boot by write-log replay (issue 18, item 7), single disk.
//
// Record: in the guest, dm-log-writes logs every write of a first boot of mos_sysvol. /dev/vda
// is 1 MiB of non-zero bytes then the 8 GiB disk (so neither vda nor the dm device reads as one
// more blank disk), /dev/vdb is the log; a loop device over the dm device at 1 MiB is the disk
// mos_sysvol provisions (the kernel gives dm devices no partitions, a loop device takes BLKPG).
// Everything is unmounted and the dm device removed, which writes the log's end mark.
// Replay: on the host, prefixes of the log (every FLUSH/FUA entry, MOS_REPLAY_POINTS (50) more
// between them, seeded by MOS_REPLAY_SEED: every write boundary when there are fewer, then writes
// torn after a seeded sector; the blank disk and the complete log) become fresh blank images; each guest boots mos_sysvol once on each of up to kDisksPerGuest prefixes' disks
// in turn (every run sees only its own disk, then everything is released); the host judges every
// outcome (tests/vm/replay_judge.hpp): ready and every oracle clean, or refused with a non-zero
// exit, and nothing that was complete in the prefix formatted again.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "tests/support/harness.hpp"
#include "tests/vm/replay_judge.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;
constexpr uint64_t kDiskBytes = 8 * GiB;
constexpr uint64_t kHead = 1 * MiB;      // in front of the disk in the recorded device
constexpr size_t kDisksPerGuest = 24;    // one PCI slot each (-nodefaults leaves 30)
constexpr size_t kStepsPerBoot = 4;      // exec, mountinfo, swaps, release

size_t env_number(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

json read_text(const std::string& path) { return {{"op", "read_file"}, {"path", path}, {"text", true}}; }

// The recording boot's steps: dm-log-writes over vda (log on vdb), a loop device over it at
// kHead, mos_sysvol, then everything released and the dm device removed (the end mark).
json record_steps() {
  return {{{"op", "dm_create"},
           {"name", "firstboot"},
           {"targets", {{{"type", "log-writes"}, {"params", "/dev/vda /dev/vdb"}, {"length_of", "/dev/vda"}}}}},
          {{"op", "loop_attach"}, {"backing", "/dev/mapper/firstboot"}, {"offset", kHead}, {"size_limit", kDiskBytes},
           {"direct_io", true}},
          {{"op", "exec"},
           {"argv", {"/bin/mos_sysvol", "--json", "--allow-devices", "/dev/loop*,/dev/dm-*,/dev/vd*"}},
           {"timeout_ms", 240000}},
          read_text("/proc/self/mountinfo"),
          {{"op", "release"}},
          {{"op", "loop_detach"}, {"device", "/dev/loop0"}},
          {{"op", "dm_remove"}, {"name", "firstboot"}}};
}

struct Recording {
  WriteLog log;
  std::vector<Formatted> things;
};

// Records the first boot, checks that replaying the whole log gives exactly the disk the guest
// wrote (the parser and the replay are right), then finds what was formatted and when.
Recording record(const test::TempDir& dir) {
  Recording rec;
  const std::string logged = dir / "logged.img", log_img = dir / "log.img";
  {
    int fd = ::open(logged.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const std::string head(kHead, '\xa5');
    EXPECT_EQ(::pwrite(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    ::close(fd);
  }
  json steps = record_steps();
  VmSpec spec = sysvol_spec("replay_record", {{logged, kHead + kDiskBytes, 512}, {log_img, 16 * GiB, 512}}, steps);
  spec.scenario["modules"] = {"dm-mod", "dm-log-writes", "loop"};
  VmResult r = run_vm(spec);
  report_wall_time("first boot recorded by dm-log-writes", r);
  expect_all_steps_ok(r, steps.size());
  const json* loop = r.step(1);
  EXPECT_TRUE(loop && loop->value("device", "") == "/dev/loop0") << r.explain();
  if (::testing::Test::HasFailure()) return rec;
  EXPECT_EQ(report_of(r, 2).value("mode", ""), "fresh") << report_of(r, 2).dump(2);
  rec.log = read_write_log(log_img);
  const std::string complete = dir / "complete.img";
  replay_prefix(rec.log, rec.log.entries.size(), {{complete, kHead, kDiskBytes}});
  EXPECT_EQ(sparse_region_digest(complete, 0, kDiskBytes), sparse_region_digest(logged, kHead, kDiskBytes))
      << "replaying the whole log does not give the disk the guest left";
  rec.things = formatted_things(complete);
  find_commits(rec.log, kHead, rec.things);
  std::filesystem::remove(complete);
  return rec;
}

// The steps that boot mos_sysvol once on one guest disk, then leave nothing in use.
json boot_steps(const std::string& disk) {
  return {{{"op", "exec"},
           {"argv", {"/bin/mos_sysvol", "--json", "--allow-devices", "/dev/" + disk + ",/dev/" + disk + "[0-9]*"}},
           {"any_outcome", true},
           {"timeout_ms", 120000}},
          read_text("/proc/self/mountinfo"),
          read_text("/proc/swaps"),
          {{"op", "release"}}};
}

struct CutResult {
  Cut cut;
  Verdict verdict;
};

// Replays the cuts [first, last) onto fresh images, boots them all in one guest, judges each.
std::vector<CutResult> boot_cuts(const test::TempDir& dir, const Recording& rec, const CutPlan& plan, size_t first,
                                 size_t last) {
  std::vector<VmDisk> disks;
  std::vector<Before> before;
  json steps = json::array();
  for (size_t k = first; k < last; ++k) {
    const std::string img = dir / ("cut" + std::to_string(k) + ".img");
    replay_prefix(rec.log, plan.cuts[k].length, {{img, kHead, kDiskBytes}}, plan.cuts[k].torn);
    before.push_back(state_before(rec.things, img, plan.cuts[k].length));
    for (auto& s : boot_steps(std::string("vd") + char('a' + disks.size()))) steps.push_back(s);
    disks.push_back({img, kDiskBytes, 512});
  }
  VmSpec spec = sysvol_spec("replay_boots", disks, steps);
  spec.timeout_s = 900;
  VmResult r = run_vm(spec);
  report_wall_time("mos_sysvol on " + std::to_string(last - first) + " prefixes", r);
  EXPECT_FALSE(r.timed_out) << r.explain();
  std::vector<CutResult> out;
  for (size_t k = first; k < last; ++k) {
    const size_t base = (k - first) * kStepsPerBoot;
    BootReport boot;
    boot.guest_disk = std::string("vd") + char('a' + (k - first));
    if (const json* e = r.step(base)) boot.exec = *e;
    auto text = [&](size_t i) {
      const json* l = r.step(base + i);
      return l ? l->value("text", "") : std::string();
    };
    boot.mounts = text(1);
    boot.swaps = text(2);
    const json* released = r.step(base + 3);
    Verdict v = judge_boot(rec.things, before[k - first], disks[k - first].path, boot);
    if (!released || !released->value("ok", false))
      v.violations.push_back("its storage could not be released: " + (released ? released->dump() : std::string("no result")));
    out.push_back({plan.cuts[k], std::move(v)});
    std::filesystem::remove(disks[k - first].path);
  }
  return out;
}

TEST(VmReplay, SingleDiskFirstBootEveryPrefix) {
  MOS_REQUIRE_VM();
  const auto t0 = std::chrono::steady_clock::now();
  test::TempDir dir;
  const Recording rec = record(dir);
  ASSERT_FALSE(HasFailure());
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
  std::vector<CutResult> results;
  for (size_t first = 0; first < plan.cuts.size(); first += kDisksPerGuest)
    for (auto& c : boot_cuts(dir, rec, plan, first, std::min(plan.cuts.size(), first + kDisksPerGuest)))
      results.push_back(std::move(c));
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
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
