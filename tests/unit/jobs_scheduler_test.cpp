// The job scheduler (engine/jobs/jobs.hpp): bounded queue, per-key serialisation, pruning, cancel of
// queued and running jobs while the pool is saturated, worker-thread creation failures, events,
// and a fixed thread count under many jobs. Jobs here are plain functions gated by latches.
#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include "engine/inventory/events.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"

namespace mos::engine {
namespace {

using namespace std::chrono_literals;

// A gate jobs wait on until the test opens it (or the job is cancelled).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void release() {
    std::lock_guard lk(mu);
    open = true;
    cv.notify_all();
  }
  // Waits for release or cancellation; throws "cancelled" like real work does.
  void pass(JobHandle& h) {
    std::unique_lock lk(mu);
    while (!open) {
      cv.wait_for(lk, 5ms);
      h.check_cancelled();
    }
  }
};

size_t thread_count() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') ++n;
    closedir(d);
  }
  return n;
}

// Polls until pred holds (2 s at most).
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

std::string state_of(const Jobs& jobs, uint64_t id) {
  auto j = jobs.get(id);
  return j ? j->state : "pruned";
}

TEST(JobsScheduler, FullQueueIsBusyWithCounts) {
  JobsOptions o;
  o.workers = 1;
  o.queue_limit = 2;
  Jobs jobs(o);
  Gate gate;
  uint64_t running = jobs.start("t", "a", [&](JobHandle& h) { gate.pass(h); return json(1); });
  ASSERT_TRUE(eventually([&] { return state_of(jobs, running) == "running"; }));
  uint64_t q1 = jobs.start("t", "b", [&](JobHandle& h) { gate.pass(h); return json(2); });
  uint64_t q2 = jobs.start("t", "c", [&](JobHandle& h) { gate.pass(h); return json(3); });
  EXPECT_EQ(state_of(jobs, q1), "queued");
  EXPECT_EQ(state_of(jobs, q2), "queued");
  try {
    jobs.start("t", "d", [](JobHandle&) { return json(4); });
    ADD_FAILURE() << "a fourth job was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::storage_failed);
    EXPECT_NE(std::string(e.what()).find("busy: 2 jobs queued, limit 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(jobs.list().size(), 3u);  // the refused job left nothing behind
  gate.release();
  EXPECT_EQ(jobs.wait(q2).result, json(3));
  EXPECT_EQ(jobs.wait(running).state, "succeeded");
  // The queue drained: a new job is accepted again.
  EXPECT_EQ(jobs.wait(jobs.start("t", "e", [](JobHandle&) { return json(5); })).result, json(5));
}

TEST(JobsScheduler, OneMutatingJobPerKeyOthersQueueReadOnlyRunAlongside) {
  JobsOptions o;
  o.workers = 4;
  Jobs jobs(o);
  Gate gate;
  std::atomic<int> on_key{0}, max_on_key{0};
  auto mutating = [&](JobHandle& h) {
    int now = ++on_key;
    int seen = max_on_key.load();
    while (now > seen && !max_on_key.compare_exchange_weak(seen, now)) {
    }
    gate.pass(h);
    --on_key;
    return json("done");
  };
  uint64_t zero = jobs.submit({"zero", "/dev/x", "/dev/x", mutating});
  uint64_t wipe = jobs.submit({"wipe", "/dev/x", "/dev/x", mutating});
  uint64_t other = jobs.submit({"zero", "/dev/y", "/dev/y", [&](JobHandle&) { return json("y"); }});
  uint64_t sum = jobs.submit({"checksum", "/dev/x", "", [&](JobHandle&) { return json("sum"); }});
  ASSERT_TRUE(eventually([&] { return state_of(jobs, zero) == "running"; }));
  // Another key and a read-only job are not held up by the running job on /dev/x.
  EXPECT_EQ(jobs.wait(other).state, "succeeded");
  EXPECT_EQ(jobs.wait(sum).state, "succeeded");
  EXPECT_EQ(state_of(jobs, wipe), "queued");
  // The same kind on the same key is refused rather than queued.
  try {
    jobs.submit({"zero", "/dev/x", "/dev/x", mutating});
    ADD_FAILURE() << "a second zero on /dev/x was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already running on /dev/x"), std::string::npos) << e.what();
  }
  gate.release();
  EXPECT_EQ(jobs.wait(zero).state, "succeeded");
  EXPECT_EQ(jobs.wait(wipe).state, "succeeded");
  EXPECT_EQ(max_on_key.load(), 1);
  EXPECT_GE(jobs.get(wipe)->started_unix, jobs.get(zero)->started_unix);
}

TEST(JobsScheduler, FinishedJobsArePrunedByCountAndAge) {
  JobsOptions o;
  o.workers = 2;
  o.history_limit = 3;
  Jobs jobs(o);
  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) last = jobs.start("t", std::to_string(i), [i](JobHandle&) { return json(i); });
  jobs.wait(last);
  ASSERT_TRUE(eventually([&] { return jobs.stats().running == 0 && jobs.stats().queued == 0; }));
  auto list = jobs.list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.back().id, last);  // the newest are kept
  EXPECT_FALSE(jobs.get(1).has_value());

  JobsOptions young;
  young.history_seconds = 0;  // anything finished before this second is gone
  Jobs aging(young);
  uint64_t id = aging.start("t", "x", [](JobHandle&) { return json(1); });
  EXPECT_EQ(aging.wait(id).state, "succeeded");
  std::this_thread::sleep_for(1100ms);
  EXPECT_TRUE(aging.list().empty());
  EXPECT_THROW(aging.wait(id), Error);
}

TEST(JobsScheduler, CancelQueuedAndRunningWhileSaturated) {
  JobsOptions o;
  o.workers = 2;
  Jobs jobs(o);
  Gate gate;
  std::atomic<int> started{0};
  auto blocker = [&](JobHandle& h) {
    ++started;
    gate.pass(h);
    return json("ran");
  };
  uint64_t r1 = jobs.start("t", "1", blocker), r2 = jobs.start("t", "2", blocker);
  uint64_t q1 = jobs.start("t", "3", blocker), q2 = jobs.start("t", "4", blocker);
  ASSERT_TRUE(eventually([&] { return started.load() == 2; }));
  EXPECT_EQ(state_of(jobs, q1), "queued");

  EXPECT_TRUE(jobs.cancel(q1));
  EXPECT_EQ(state_of(jobs, q1), "cancelled");  // at once, without a free worker
  EXPECT_TRUE(jobs.cancel(r1));
  EXPECT_EQ(jobs.wait(r1).state, "cancelled");
  // r1's worker takes q2 (q1 never runs).
  ASSERT_TRUE(eventually([&] { return state_of(jobs, q2) == "running"; }));
  EXPECT_FALSE(jobs.cancel(q1));  // already ended
  EXPECT_THROW(jobs.cancel(9999), Error);
  gate.release();
  EXPECT_EQ(jobs.wait(r2).state, "succeeded");
  EXPECT_EQ(jobs.wait(q2).state, "succeeded");
  EXPECT_EQ(started.load(), 3);
  EXPECT_EQ(jobs.stats().workers, 2u);
}

TEST(JobsScheduler, ThreadCreationFailureIsAnErrorAndLeavesNoGhost) {
  std::atomic<bool> fail{true};
  JobsOptions o;
  o.workers = 2;
  o.spawn = [&fail](std::function<void()> f) {
    if (fail) throw std::system_error(EAGAIN, std::generic_category(), "pthread_create");
    return std::thread(std::move(f));
  };
  Jobs jobs(o);
  try {
    jobs.start("t", "x", [](JobHandle&) { return json(1); });
    ADD_FAILURE() << "a job was accepted without a worker";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::storage_failed);
    EXPECT_NE(std::string(e.what()).find("cannot create a job worker thread"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(jobs.list().empty());  // no ghost "running" job
  fail = false;
  uint64_t ok = jobs.start("t", "x", [](JobHandle&) { return json(2); });
  EXPECT_EQ(jobs.wait(ok).result, json(2));
  // A second worker that cannot be created: jobs still run, on the one that exists.
  fail = true;
  Gate gate;
  uint64_t a = jobs.start("t", "a", [&](JobHandle& h) { gate.pass(h); return json("a"); });
  uint64_t b = jobs.start("t", "b", [](JobHandle&) { return json("b"); });
  EXPECT_EQ(jobs.stats().workers, 1u);
  gate.release();
  EXPECT_EQ(jobs.wait(a).state, "succeeded");
  EXPECT_EQ(jobs.wait(b).state, "succeeded");
}

TEST(JobsScheduler, EventsQueuedStartedRateLimitedProgressFinished) {
  EventBus bus;
  std::mutex mu;
  std::vector<Event> seen;
  bus.subscribe([&](const Event& e) {
    std::lock_guard lk(mu);
    seen.push_back(e);
  });
  Jobs jobs({}, &bus);
  uint64_t id = jobs.start("t", "x", [](JobHandle& h) {
    for (uint64_t i = 1; i <= 2000; ++i) {
      h.progress(i, 2000);
      if (i % 100 == 0) std::this_thread::sleep_for(10ms);  // ~200 ms of work
    }
    return json("ok");
  });
  jobs.wait(id);
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(mu);
    return !seen.empty() && seen.back().kind == "finished";
  }));
  std::lock_guard lk(mu);
  std::vector<std::string> kinds;
  size_t progress = 0;
  for (auto& e : seen) {
    EXPECT_EQ(e.topic, "jobs");
    EXPECT_EQ(e.data["id"], id);
    if (e.kind == "progress") ++progress;
    else kinds.push_back(e.kind);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "started", "finished"}));
  EXPECT_GE(progress, 1u);
  EXPECT_LE(progress, 2u);  // 2000 reports in ~0.2 s: at most 2 per second
  EXPECT_EQ(seen.back().data["state"], "succeeded");
  EXPECT_EQ(seen.back().data["done"], 2000);
}

TEST(JobsScheduler, TwoHundredJobsKeepThreadsAtPoolSize) {
  const size_t before = thread_count();
  JobsOptions o;
  o.workers = 4;
  o.queue_limit = 256;
  Jobs jobs(o);
  Gate gate;
  std::vector<uint64_t> ids;
  for (int i = 0; i < 200; ++i)
    ids.push_back(jobs.start("checksum", std::to_string(i), [&gate, i](JobHandle& h) { gate.pass(h); return json(i); }));
  EXPECT_LE(thread_count(), before + 4);
  auto s = jobs.stats();
  EXPECT_EQ(s.running, 4u);
  EXPECT_EQ(s.queued, 196u);
  gate.release();
  for (auto id : ids) EXPECT_EQ(jobs.wait(id).state, "succeeded");
  EXPECT_EQ(thread_count(), before + 4);
}

TEST(JobsScheduler, RestoredRunningJobsReadInterrupted) {
  Jobs jobs;
  JobInfo was_running;
  was_running.id = 7;
  was_running.kind = "scrub";
  was_running.target = "/mnt/x";
  was_running.state = "running";
  JobInfo was_done = was_running;
  was_done.id = 6;
  was_done.state = "succeeded";
  was_done.finished_unix = static_cast<int64_t>(std::time(nullptr));
  jobs.restore({was_done, was_running});
  EXPECT_EQ(jobs.get(7)->state, "interrupted");
  EXPECT_NE(jobs.get(7)->error.value_or("").find("daemon stopped"), std::string::npos);
  EXPECT_EQ(jobs.get(6)->state, "succeeded");
  EXPECT_EQ(jobs.start("t", "x", [](JobHandle&) { return json(1); }), 8u);  // ids continue
}

// A polling job (engine/raid/members.cpp follows an md rebuild so) holds no worker between
// polls: with one worker, other jobs run to the end while it is still polling; a cancel ends it
// at its next poll at once, not after its interval.
TEST(JobsScheduler, PollingJobHoldsNoWorkerBetweenPolls) {
  JobsOptions o;
  o.workers = 1;
  Jobs jobs(o);
  std::atomic<int> polls{0};
  std::atomic<bool> finish{false};
  uint64_t poller = jobs.start("poll", "md0", [&](JobHandle& h) -> json {
    h.check_cancelled();
    if (++polls >= 3 && finish) return json("in sync");
    h.poll_again(20ms);
    return nullptr;
  });
  ASSERT_TRUE(eventually([&] { return polls.load() >= 2; }));
  for (int i = 0; i < 5; ++i) {
    uint64_t other = jobs.start("t", std::to_string(i), [](JobHandle&) { return json(1); });
    EXPECT_EQ(jobs.wait(other).state, "succeeded");
  }
  EXPECT_EQ(state_of(jobs, poller), "running");
  EXPECT_EQ(jobs.stats().workers, 1u);
  finish = true;
  JobInfo done = jobs.wait(poller);
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.result, json("in sync"));

  uint64_t slow = jobs.start("poll", "md1", [](JobHandle& h) -> json {
    h.check_cancelled();
    h.poll_again(60s);
    return nullptr;
  });
  ASSERT_TRUE(eventually([&] { return jobs.stats().running == 1; }));
  std::this_thread::sleep_for(20ms);  // asleep until its next poll
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(jobs.cancel(slow));
  EXPECT_EQ(jobs.wait(slow).state, "cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
}

}  // namespace
}  // namespace mos::engine
