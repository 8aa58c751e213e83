// storage.zero / storage.checksum through the sandboxed server and the CLI, judged by xxhsum
// and by comparing every byte with /dev/zero.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>
#include <tuple>

#include "base/error.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

std::string xxhsum(const std::string& flag, const std::string& dev) {
  ToolResult r = run_tool({"xxhsum", flag, dev});
  EXPECT_TRUE(r.ok()) << r.err;
  // "hex  file" for -H1/-H2, "XXH3 (file) = hex" for -H3.
  size_t eq = r.out.find(" = ");
  std::string hex = eq == std::string::npos ? r.out.substr(0, r.out.find(' ')) : r.out.substr(eq + 3);
  while (!hex.empty() && hex.back() == '\n') hex.pop_back();
  return hex;
}

bool all_zero(const std::string& dev, uint64_t size) {
  return run_tool({"cmp", "-n", std::to_string(size), dev, "/dev/zero"}).ok();
}

TEST(DeviceOpsRpc, ChecksumEqualsXxhsumForEveryAlgo) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(48 * MiB + 3 * 4096 + 512);  // not a whole number of 1 MiB chunks
  ASSERT_TRUE(write_random(img.dev(), img.size()).ok());
  for (auto [algo, flag] : {std::pair{"xxh64", "-H1"}, std::pair{"xxh3", "-H3"}, std::pair{"xxh128", "-H2"}}) {
    nlohmann::json r = c.call("storage.checksum", {{"device", img.dev()}, {"algo", algo}});
    EXPECT_EQ(r["digest"], xxhsum(flag, img.dev())) << algo;
    EXPECT_EQ(r["bytes"], img.size());
  }
  // Background: a job id at once, the same digest in the finished job.
  nlohmann::json started = c.call("storage.checksum", {{"device", img.dev()}, {"algo", "xxh3"}, {"background", true}});
  uint64_t id = started["job_id"];
  nlohmann::json job;
  for (int i = 0; i < 500; ++i) {
    job = c.call("storage.jobs", {{"id", id}});
    if (job["state"] != "running" && job["state"] != "queued") break;
    usleep(20000);
  }
  EXPECT_EQ(job["state"], "succeeded") << job.dump();
  EXPECT_EQ(job["result"]["digest"], xxhsum("-H3", img.dev()));
  EXPECT_EQ(job["done"], img.size());

  EXPECT_EQ(rpc_error(c, "storage.checksum", {{"device", img.dev()}, {"algo", "md5"}}).first, -32602);
  EXPECT_EQ(rpc_error(c, "storage.checksum", {{"device", "/dev/loop-none"}, {"algo", "xxh3"}}).first, -32002);
}

TEST(DeviceOpsRpc, ZeroLeavesEveryByteZero) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(40 * MiB + 7 * 512);
  ASSERT_TRUE(write_random(img.dev(), img.size()).ok());
  ASSERT_FALSE(all_zero(img.dev(), img.size()));
  nlohmann::json r = c.call("storage.zero", {{"device", img.dev()}, {"force", true}});
  EXPECT_EQ(r["bytes_zeroed"], img.size());
  EXPECT_TRUE(all_zero(img.dev(), img.size()));
}

TEST(DeviceOpsRpc, ZeroRefusesMountedAndOutsideThePolicy) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(64 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img.dev()}).ok());
  TempDir dir;
  ASSERT_TRUE(run_tool({"mount", "-o", "ro", img.dev(), dir.path()}).ok());
  MountGuard guard(dir.path());
  std::string before = sha256_of(img.dev());
  auto [code, msg] = rpc_error(c, "storage.zero", {{"device", img.dev()}, {"force", true}, {"background", true}});
  EXPECT_EQ(code, -32001);
  EXPECT_NE(msg.find("mounted at"), std::string::npos) << msg;
  std::tie(code, msg) = rpc_error(c, "storage.zero", {{"device", "/dev/zram0"}, {"force", true}});
  EXPECT_EQ(code, -32001);
  EXPECT_NE(msg.find("not allowed"), std::string::npos) << msg;
  EXPECT_EQ(sha256_of(img.dev()), before);
}

TEST(DeviceOpsCli, ZeroAndChecksum) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  LoopImage img(16 * MiB);
  ASSERT_TRUE(write_random(img.dev(), 1000000).ok());
  ToolResult sum = server.cli({"checksum", img.dev(), "--algo", "xxh128"});
  EXPECT_EQ(sum.exit_code, 0) << sum.err;
  EXPECT_EQ(sum.out, xxhsum("-H2", img.dev()) + "  " + img.dev() + "\n");
  ToolResult js = server.cli({"checksum", img.dev(), "--algo", "xxh64", "--json"});
  EXPECT_EQ(js.exit_code, 0) << js.err;
  EXPECT_EQ(nlohmann::json::parse(js.out)["digest"], xxhsum("-H1", img.dev()));

  ToolResult z = server.cli({"zero", img.dev(), "--force"});
  EXPECT_EQ(z.exit_code, 0) << z.err;
  EXPECT_NE(z.out.find("Zeroed " + img.dev()), std::string::npos) << z.out;
  EXPECT_TRUE(all_zero(img.dev(), img.size()));

  ToolResult bad = server.cli({"checksum", img.dev(), "--algo", "sha1"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_NE(bad.err.find("algo"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace mos::test
