// The job scheduler through the real daemon: a full queue answers busy, a waiting call is
// cancellable from another client, 200 background checksums keep the daemon's threads at the
// pool size with bounded memory and the digests xxhsum computes, and a device that shrinks to
// nothing (as a detached loop device reads) is -32002, not an empty success.
#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <future>
#include <thread>
#include <tuple>

#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;

// VmRSS of /proc/PID/status in kB.
uint64_t rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  ADD_FAILURE() << "no VmRSS for pid " << pid;
  return 0;
}

// The process's own threads. The kernel's io_uring workers also appear in /proc/PID/task (named
// iou-wrk-* once started, PF_IO_WORKER in their flags): they are not threads the daemon created.
uint64_t user_threads(int pid, std::string* names = nullptr) {
  constexpr unsigned long kPfIoWorker = 0x10;
  uint64_t n = 0;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(task.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      // A thread that exits between readdir and read makes the read fail with ESRCH (a stream
      // throws on that from inside its iterator): it is skipped like one already gone.
      std::string stat;
      try {
        stat = io::read_text_file(task + "/" + e->d_name + "/stat");
      } catch (const std::exception&) {
      }
      size_t close = stat.rfind(')');
      if (close == std::string::npos) continue;  // exited meanwhile
      std::istringstream rest(stat.substr(close + 2));
      std::string field;
      unsigned long flags = 0;
      for (int i = 3; i <= 9 && rest >> field; ++i)
        if (i == 9) flags = std::stoul(field);
      if (flags & kPfIoWorker) continue;
      ++n;
      if (names) *names += stat.substr(stat.find('(') + 1, close - stat.find('(') - 1) + " ";
    }
    closedir(d);
  }
  return n;
}

nlohmann::json wait_job_end(rpc::Client& c, uint64_t id, int seconds = 60) {
  nlohmann::json job;
  for (int i = 0; i < seconds * 50; ++i) {
    job = c.call("storage.jobs", {{"id", id}});
    if (job["state"] != "running" && job["state"] != "queued") break;
    usleep(20000);
  }
  return job;
}

// Waits until the job has reported progress (so it holds a worker and reads the device).
bool wait_progress(rpc::Client& c, uint64_t id) {
  for (int i = 0; i < 1000; ++i) {
    auto job = c.call("storage.jobs", {{"id", id}});
    if (job["state"] == "running" && job["done"].get<uint64_t>() > 0) return true;
    usleep(5000);
  }
  return false;
}

std::string xxh3_of(const std::string& dev) {
  auto r = run_tool({"xxhsum", "-H3", dev});
  EXPECT_TRUE(r.ok()) << r.err;
  size_t eq = r.out.find(" = ");
  std::string hex = r.out.substr(eq + 3);
  while (!hex.empty() && hex.back() == '\n') hex.pop_back();
  return hex;
}

// Shrinks the loop device to 0 bytes behind its readers' back: truncate the file, then
// LOOP_SET_CAPACITY (what a detached loop device looks like to a reader: empty). A real detach
// cannot be had here: LOOP_CLR_FD on a loop device that is still open (the daemon's job reads
// it) only sets autoclear and returns 0; the kernel detaches at the last close, after the job
// ended, and the freed number could then go to a concurrent test before LoopImage's cleanup.
void shrink_to_nothing(const LoopImage& img) {
  ASSERT_EQ(::truncate(img.file().c_str(), 0), 0);
  auto r = run_tool({"losetup", "-c", img.dev()});
  ASSERT_TRUE(r.ok()) << r.err;
}

TEST(JobsRpc, FullQueueIsBusyAndQueuedJobsAreVisibleAndCancellable) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);  // sparse: reads of holes keep a checksum busy for seconds
  SandboxedDaemon server(img.dev(), [](rpc::DaemonOptions& o) {
    o.job_workers = 1;
    o.job_queue = 2;
  });
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  nlohmann::json p = {{"device", img.dev()}, {"algo", "xxh3"}, {"background", true}};
  uint64_t running = c.call("storage.checksum", p)["job_id"];
  ASSERT_TRUE(wait_progress(c, running));
  uint64_t q1 = c.call("storage.checksum", p)["job_id"];
  uint64_t q2 = c.call("storage.checksum", p)["job_id"];
  EXPECT_EQ(c.call("storage.jobs", {{"id", q1}})["state"], "queued");
  auto [code, msg] = rpc_error(c, "storage.checksum", p);
  EXPECT_EQ(code, -32000);
  EXPECT_NE(msg.find("busy: 2 jobs queued, limit 2"), std::string::npos) << msg;
  // Cancel while the single worker is taken: the queued job ends at once, never started.
  EXPECT_EQ(c.call("storage.job_cancel", {{"id", q2}})["cancelled"], true);
  auto j2 = c.call("storage.jobs", {{"id", q2}});
  EXPECT_EQ(j2["state"], "cancelled");
  EXPECT_EQ(j2["started_unix"], 0);
  EXPECT_EQ(c.call("storage.job_cancel", {{"id", running}})["cancelled"], true);
  EXPECT_EQ(wait_job_end(c, running)["state"], "cancelled");
  // The freed worker took q1; cancel it too.
  c.call("storage.job_cancel", {{"id", q1}});
  EXPECT_EQ(wait_job_end(c, q1)["state"], "cancelled");
}

TEST(JobsRpc, WaitingCallIsCancelledFromAnotherClient) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SandboxedDaemon server(img.dev());
  ASSERT_TRUE(server.ready());
  auto waiting = std::async(std::launch::async, [&] {
    rpc::Client c(server.socket());
    return rpc_error(c, "storage.checksum", {{"device", img.dev()}, {"algo", "xxh64"}});
  });
  rpc::Client other(server.socket());
  uint64_t id = 0;
  for (int i = 0; i < 500 && id == 0; ++i) {
    for (auto& j : other.call("storage.jobs", nlohmann::json::object()))
      if (j["state"] == "running") id = j["id"];
    usleep(10000);
  }
  ASSERT_NE(id, 0u) << "the waiting call's job never showed as running";
  EXPECT_EQ(other.call("storage.job_cancel", {{"id", id}})["cancelled"], true);
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  auto [code, msg] = waiting.get();
  EXPECT_EQ(code, -32000);
  EXPECT_NE(msg.find("cancelled"), std::string::npos) << msg;
}

TEST(JobsRpc, TwoHundredBackgroundChecksumsKeepThreadsAtPoolSizeAndMemoryBounded) {
  MOS_REQUIRE_ROOT();
  LoopImage img(4 * MiB + 4096);
  ASSERT_TRUE(write_random(img.dev(), img.size()).ok());
  const std::string want = xxh3_of(img.dev());
  SandboxedDaemon server(img.dev(), [](rpc::DaemonOptions& o) {
    o.job_workers = 4;
    o.job_queue = 256;
  });
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  c.call("storage.jobs", nlohmann::json::object());  // the server's own threads are all up
  const uint64_t threads_idle = user_threads(server.pid());
  std::vector<uint64_t> ids;
  uint64_t max_threads = 0;
  std::string names_at_max;
  for (int i = 0; i < 200; ++i) {
    ids.push_back(c.call("storage.checksum", {{"device", img.dev()}, {"algo", "xxh3"}, {"background", true}})["job_id"]);
    std::string names;
    uint64_t n = user_threads(server.pid(), &names);
    if (n > max_threads) names_at_max = names;
    max_threads = std::max(max_threads, n);
  }
  for (auto id : ids) {
    auto job = wait_job_end(c, id);
    ASSERT_EQ(job["state"], "succeeded") << job.dump();
    EXPECT_EQ(job["result"]["digest"], want);
  }
  max_threads = std::max(max_threads, user_threads(server.pid()));
  EXPECT_LE(max_threads, threads_idle + 4) << "idle " << threads_idle << "; at the most: " << names_at_max;
#ifndef MOS_UNDER_SANITIZER  // ASan's quarantine and shadow memory make RSS meaningless there
  EXPECT_LT(rss_kb(server.pid()), 256u * 1024) << "kB";
#endif
  // History is bounded too (256 by default): all 200 are listed, none pruned yet.
  EXPECT_EQ(c.call("storage.jobs", nlohmann::json::object()).size(), 200u);
}

TEST(JobsRpc, DeviceShrunkToNothingIsNotFoundBeforeAndWhileRunning) {
  MOS_REQUIRE_ROOT();
  {
    LoopImage img(16 * MiB);
    SandboxedDaemon server(img.dev());
    ASSERT_TRUE(server.ready());
    rpc::Client c(server.socket());
    shrink_to_nothing(img);
    auto [code, msg] = rpc_error(c, "storage.checksum", {{"device", img.dev()}, {"algo", "xxh3"}});
    EXPECT_EQ(code, -32002) << msg;
    std::tie(code, msg) = rpc_error(c, "storage.zero", {{"device", img.dev()}, {"force", true}});
    EXPECT_EQ(code, -32002) << msg;
  }
  LoopImage img(8 * GiB);
  SandboxedDaemon server(img.dev());
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  uint64_t id = c.call("storage.checksum", {{"device", img.dev()}, {"algo", "xxh3"}, {"background", true}})["job_id"];
  ASSERT_TRUE(wait_progress(c, id));
  shrink_to_nothing(img);
  auto job = wait_job_end(c, id);
  EXPECT_EQ(job["state"], "failed") << job.dump();
  EXPECT_EQ(job["error_code"], -32002) << job.dump();
}

}  // namespace
}  // namespace mos::test
