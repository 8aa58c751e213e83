// Shared by the write-log replay tests (single and two disks): the knobs, guest boots run side
// by side, and where the time goes.
#pragma once
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <algorithm>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {

inline size_t env_number(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

// Seconds spent, summed over the batches (they overlap when run side by side).
struct ReplayCost {
  std::mutex m;
  // Held while a batch is judged: the prefixes share fsids and array UUIDs, which the host's
  // btrfs device registry and loop devices must not see from two batches at once.
  std::mutex judging;
  double replay_s = 0;  // making the prefixes' images from the log (host)
  double guest_s = 0;   // qemu, boot to power-off
  double sysvol_s = 0;  // of that: mos_sysvol runs in the guest (the exec steps)
  double judge_s = 0;   // the host's judging (oracle tools, digests)
  size_t boots = 0;

  void add(double replay, double guest, double sysvol, double judge) {
    std::lock_guard<std::mutex> lock(m);
    replay_s += replay, guest_s += guest, sysvol_s += sysvol, judge_s += judge, ++boots;
  }
  void print(const char* what, double wall) {
    std::printf("[ REPLAY   ] %s cost: %zu guest boots; summed over them: images %.0f s, qemu %.0f s (mos_sysvol "
                "%.0f s, guest boot/modules/release %.0f s), host judging %.0f s; %.0f s wall\n",
                what, boots, replay_s, guest_s, sysvol_s, guest_s - sysvol_s, judge_s, wall);
  }
};

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs job(i) for i in [0, n), at most `parallel` at once (MOS_REPLAY_PARALLEL, default 2: each
// job boots one single-CPU TCG guest, so one per host core; the host judges one batch's images
// while the next guest runs).
template <class Job>
void run_side_by_side(size_t n, Job job) {
  const size_t parallel = std::max<size_t>(1, env_number("MOS_REPLAY_PARALLEL", 2));
  std::deque<std::future<void>> running;
  for (size_t i = 0; i < n; ++i) {
    if (running.size() == parallel) {
      running.front().get();
      running.pop_front();
    }
    running.push_back(std::async(std::launch::async, job, i));
  }
  for (auto& f : running) f.get();
}

// One mos_sysvol run on a replayed state, as the guest reported it.
struct ReplayRun {
  json exec;                  // the exec step's line (exit_code, timed_out, stdout_json, ...)
  std::string mounts, swaps;  // /proc/self/mountinfo and /proc/swaps after the run
  std::string release_problem;  // "" when the other disks were hidden before it and everything was released after it
};
struct GuestRuns {
  std::vector<ReplayRun> runs;
  double wall_s = 0, sysvol_s = 0;
};

// Boots one guest on `disks` (each batch its own temp files: `name` differs) and runs mos_sysvol
// once per entry of `runs`, each seeing only those guest disks ("vdc", ...), then releases
// everything (unmount, swapoff, stop md, forget btrfs devices) before the next. Before each run
// the kernel forgets the other runs' partitions (show_only_disks): the states of one recording
// share btrfs fsids and md array UUIDs, and a boot of a real node sees only its own disks.
inline GuestRuns boot_replay_guest(const std::string& name, const std::vector<VmDisk>& disks,
                                   const std::vector<std::vector<std::string>>& runs) {
  constexpr size_t kStepsPerRun = 5;  // show_only_disks, exec, mountinfo, swaps, release
  json steps = json::array();
  for (const auto& run : runs) {
    json hide = json::array();
    for (const auto& other : runs)
      for (const auto& d : other)
        if (std::find(run.begin(), run.end(), d) == run.end()) hide.push_back(d);
    steps.push_back({{"op", "show_only_disks"}, {"show", run}, {"hide", hide}});
    std::string allow;
    for (const auto& d : run) allow += (allow.empty() ? "" : ",") + ("/dev/" + d + ",/dev/" + d + "[0-9]*");
    steps.push_back({{"op", "exec"},
                     {"argv", {"/bin/mos_sysvol", "--json", "--allow-devices", allow}},
                     {"any_outcome", true},
                     {"timeout_ms", 180000}});
    steps.push_back(mounts_step());
    steps.push_back(swaps_step());
    steps.push_back({{"op", "release"}});
  }
  VmSpec spec = sysvol_spec(name, disks, steps);
  spec.timeout_s = 900;
  VmResult r = run_vm(spec);
  report_wall_time(name + ": mos_sysvol on " + std::to_string(runs.size()) + " states", r);
  EXPECT_FALSE(r.timed_out) << r.explain();
  GuestRuns out;
  out.wall_s = r.wall_s;
  for (size_t k = 0; k < runs.size(); ++k) {
    const size_t base = k * kStepsPerRun + 1;  // the exec step
    ReplayRun run;
    if (const json* shown = r.step(base - 1); !shown || !shown->value("ok", false))
      run.release_problem = "the other states' disks could not be hidden: " + (shown ? shown->dump() : std::string("no result"));
    if (const json* e = r.step(base)) {
      run.exec = *e;
      out.sysvol_s += e->value("ms", 0.0) / 1000;
    }
    auto text = [&](size_t i) {
      const json* l = r.step(base + i);
      return l ? l->value("text", "") : std::string();
    };
    run.mounts = text(1);
    run.swaps = text(2);
    const json* released = r.step(base + 3);
    if (!released || !released->value("ok", false))
      run.release_problem += (run.release_problem.empty() ? "" : "; ") + std::string("its storage could not be released: ") +
                             (released ? released->dump() : std::string("no result"));
    out.runs.push_back(std::move(run));
  }
  return out;
}

// Boots one batch's guest (boot_replay_guest), then judges its runs one batch at a time
// (judge(k, run) for run k) and adds the batch's times to `cost`; replay_s: making its images.
template <class Judge>
void boot_and_judge(const std::string& name, const std::vector<VmDisk>& disks,
                    const std::vector<std::vector<std::string>>& runs, double replay_s, ReplayCost& cost, Judge judge) {
  GuestRuns g = boot_replay_guest(name, disks, runs);
  std::lock_guard<std::mutex> judging(cost.judging);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t k = 0; k < runs.size(); ++k) judge(k, g.runs[k]);
  cost.add(replay_s, g.wall_s, g.sysvol_s, seconds_since(t0));
}

}  // namespace mos::vmtest
