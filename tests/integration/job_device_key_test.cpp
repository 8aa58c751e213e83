// Mutating jobs are keyed by the whole disk (engine::device_job_key): a device's aliases (a
// symlink, a non-canonical path) and its partitions share one key, so a second zero through an
// alias is refused while the first runs, and other devices keep their own key. The kernel's
// sysfs is the oracle for the numbers (lsblk -no MAJ:MIN).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/device_key.hpp"
#include "engine/jobs/jobs.hpp"
#include "base/error.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

std::string lsblk_number(const std::string& dev) {
  auto r = run_tool({"lsblk", "-dno", "MAJ:MIN", dev});
  EXPECT_TRUE(r.ok()) << r.err;
  std::string s = r.out;
  s.erase(0, s.find_first_not_of(' '));
  return s.substr(0, s.find_first_of(" \n"));
}

TEST(JobDeviceKey, AliasesAndPartitionsShareTheWholeDisksKey) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64ull << 20);
  LoopImage other(64ull << 20);
  const std::string dev = img.dev();
  TempDir dir;
  const std::string link = dir / "alias";
  ASSERT_EQ(symlink(dev.c_str(), link.c_str()), 0);
  const std::string key = engine::device_job_key(dev);
  EXPECT_EQ(key, "block:" + lsblk_number(dev));
  EXPECT_EQ(engine::device_job_key(link), key);
  EXPECT_EQ(engine::device_job_key("/dev/../dev/./" + dev.substr(5)), key);
  EXPECT_NE(engine::device_job_key(other.dev()), key);
  // A partition (GPT by sgdisk, the kernel's partition scan) keys by its disk.
  ASSERT_TRUE(run_tool({"sgdisk", "-n", "1:2048:+8M", dev}).ok());
  run_tool({"partx", "-u", dev});
  const std::string part = dev + "p1";
  struct stat st {};
  for (int i = 0; i < 100 && ::stat(part.c_str(), &st) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(::stat(part.c_str(), &st), 0) << part << " did not appear";
  EXPECT_NE(lsblk_number(part), lsblk_number(dev));
  EXPECT_EQ(engine::device_job_key(part), key);
  // Not a block device: its canonical path.
  ASSERT_EQ(mkdir((dir / "sub").c_str(), 0755), 0);
  EXPECT_EQ(engine::device_job_key(dir.path() + "/./sub/../sub"), dir / "sub");
}

TEST(JobDeviceKey, SecondZeroThroughAnAliasIsRefusedWhileTheFirstRuns) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64ull << 20);
  TempDir dir;
  const std::string link = dir / "alias";
  ASSERT_EQ(symlink(img.dev().c_str(), link.c_str()), 0);
  std::mutex mu;
  std::condition_variable cv;
  bool started = false, release = false;
  engine::Jobs jobs;
  auto held = [&](engine::JobHandle&) {
    std::unique_lock lk(mu);
    started = true;
    cv.notify_all();
    cv.wait(lk, [&] { return release; });
    return nlohmann::json("done");
  };
  uint64_t first = jobs.submit({"zero", img.dev(), engine::device_job_key(img.dev()), held});
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(5), [&] { return started; }));
  }
  try {
    jobs.submit({"zero", link, engine::device_job_key(link), [](engine::JobHandle&) { return nlohmann::json("x"); }});
    ADD_FAILURE() << "a second zero through " << link << " was accepted while job " << first << " runs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::storage_failed);
    EXPECT_NE(std::string(e.what()).find("already running"), std::string::npos) << e.what();
  }
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(jobs.wait(first).state, "succeeded");
}

}  // namespace
}  // namespace mos::test
