// The harness's own ops, so other scenarios can rely on them: rpc with expect_error, a job
// followed by `wait` (its digest judged by xxhsum on the host), `exec` (argv, env, exit codes,
// captured output, timeout), and `crash` followed by a second boot on the same disk images.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;

TEST(VmHarness, RpcWaitExecThenCrashAndSecondBoot) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string raw = dir / "raw.img", fat = dir / "fat.img";
  {
    std::string data = seeded_bytes(7, 16 * MiB);
    std::ofstream(raw, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  }
  VmSpec spec;
  spec.name = "harness";
  spec.disks = {{raw, 16 * MiB}, {fat, 300 * MiB}, {dir / "swap.img", 64 * MiB}};
  json steps = {
      rpc_step("storage.checksum", {{"device", "/dev/vda"}, {"algo", "xxh128"}, {"background", true}}),
      {{"op", "wait"}, {"method", "storage.jobs"}, {"params", {{"id", 1}}}, {"until", {{"/state", "succeeded"}}},
       {"timeout_ms", 60000}},
      {{"op", "rpc"}, {"method", "storage.mount"},
       {"params", {{"source", "/dev/vdz"}, {"target", "/mnt/x"}, {"fstype", "vfat"}}}, {"expect_error", -32002}},
      {{"op", "rpc"}, {"method", "storage.mount"}, {"params", {{"source", "/dev/vda"}, {"bogus", 1}}},
       {"expect_error", -32602}},
      {{"op", "exec"}, {"argv", {"/init", "--echo", "a b"}}, {"env", {{"FOO", "bar"}}}},
      {{"op", "exec"}, {"argv", {"/init", "--exit", "3"}}, {"expect_exit", 3}},
      {{"op", "exec"}, {"argv", {"/init", "--sleep", "20000"}}, {"timeout_ms", 300}, {"expect_timeout", true}},
      rpc_step("storage.create_filesystem", {{"device", "/dev/vdb"}, {"fstype", "vfat"}, {"label", "CRASH"}}),
      rpc_step("storage.create_filesystem", {{"device", "/dev/vdc"}, {"fstype", "swap"}, {"label", "MOSSWAP"}}),
      {{"op", "swapon"}, {"path", "/dev/vdc"}},
      {{"op", "read_file"}, {"path", "/proc/swaps"}, {"text", true}},
      rpc_step("storage.mount", {{"source", "/dev/vdb"}, {"target", "/mnt/fat"}, {"fstype", "vfat"}}),
      write_step("/mnt/fat/durable.bin", 3 * MiB + 1, 31),  // fsync'ed before the crash
      {{"op", "crash"}},
      {{"op", "list_dir"}, {"path", "/"}}};  // never runs
  spec.scenario = {{"modules", {"vfat", "nls_cp437", "nls_ascii"}}, {"steps", steps}};
  VmResult r = run_vm(spec);
  report_wall_time("harness ops + crash", r);
  expect_steps_ok_until_crash(r, 13);

  const json* wait = r.step(1);
  ASSERT_NE(wait, nullptr) << r.explain();
  auto xxhsum = test::run_tool({"xxhsum", "-H2", raw});
  ASSERT_TRUE(xxhsum.ok()) << xxhsum.err;
  EXPECT_EQ((*wait)["result"]["result"]["digest"].get<std::string>(), xxhsum.out.substr(0, 32)) << wait->dump();
  EXPECT_EQ((*r.step(2))["error"]["code"], -32002);
  const json& echo = *r.step(4);
  EXPECT_EQ(echo["stdout_json"]["argv"], json({"/init", "--echo", "a b"})) << echo.dump();
  EXPECT_EQ(echo["stdout_json"]["env"], json({{"PATH", "/bin"}, {"FOO", "bar"}})) << echo.dump();
  EXPECT_EQ(echo["stderr"], "echo to stderr\n");
  EXPECT_EQ((*r.step(5))["exit_code"], 3);
  EXPECT_EQ((*r.step(6))["timed_out"], true);
  EXPECT_EQ((*r.step(6))["signal"], 9);
  EXPECT_NE((*r.step(10))["text"].get<std::string>().find("/dev/vdc"), std::string::npos) << r.step(10)->dump();
  EXPECT_EQ(r.step(14), nullptr) << "a step ran after the crash";
  EXPECT_EQ(r.event("shutdown"), nullptr) << "crash must not shut down cleanly";
  ASSERT_NE(r.event("crash"), nullptr) << r.explain();

  // Second boot on the same images: the fsync'ed file survived the power loss.
  VmSpec again = spec;
  again.name = "harness2";
  again.scenario["steps"] = {rpc_step("storage.mount", {{"source", "/dev/vdb"}, {"target", "/mnt/fat"}, {"fstype", "vfat"}}),
                             read_step("/mnt/fat/durable.bin", 3 * MiB + 1, 31),
                             {{"op", "swapon"}, {"path", "/dev/vdc"}}};
  VmResult r2 = run_vm(again);
  report_wall_time("second boot", r2);
  expect_all_steps_ok(r2, 3);
  ASSERT_NE(r2.event("shutdown"), nullptr);
  EXPECT_EQ((*r2.event("shutdown"))["swapoff"], json({"/dev/vdc"}));
  EXPECT_EQ((*r2.event("shutdown"))["unmounted"], json({"/mnt/fat"}));
  // mtools agrees. (fsck.fat -n is not asked: after a power loss the volume legitimately keeps
  // its dirty bit and a stale free-cluster count, which the kernel never rewrites.)
  auto copy = test::run_tool({"env", "MTOOLS_SKIP_CHECK=1", "mcopy", "-n", "-i", fat, "::/durable.bin", "-"});
  ASSERT_TRUE(copy.ok()) << copy.err;
  EXPECT_TRUE(copy.out == seeded_bytes(31, 3 * MiB + 1)) << "durable.bin differs when read by mtools";
}

// An unexpected failure stops the script: the error is emitted, the rest is skipped, and the
// guest still shuts down cleanly (what was mounted is unmounted).
TEST(VmHarness, UnexpectedFailureAbortsWithCleanShutdown) {
  MOS_REQUIRE_VM();
  VmSpec spec;
  spec.name = "abort";
  spec.scenario = {{"steps",
                    {{{"op", "mkdir"}, {"path", "/mnt/a"}},
                     rpc_step("storage.mount", {{"source", "/dev/vdz"}, {"target", "/mnt/a"}, {"fstype", "ext4"}}),
                     {{"op", "list_dir"}, {"path", "/"}}}}};
  VmResult r = run_vm(spec);
  report_wall_time("abort", r);
  ASSERT_NE(r.step(1), nullptr) << r.explain();
  EXPECT_FALSE((*r.step(1))["ok"].get<bool>());
  EXPECT_EQ((*r.step(1))["error"]["code"], -32002) << r.step(1)->dump();
  EXPECT_EQ(r.step(2), nullptr) << "a step ran after the failure";
  const json* aborted = r.event("aborted");
  ASSERT_NE(aborted, nullptr) << r.explain();
  EXPECT_EQ((*aborted)["step"], 1);
  EXPECT_EQ((*aborted)["remaining"], 1);
  const json* down = r.event("shutdown");
  ASSERT_NE(down, nullptr) << r.explain();
  EXPECT_EQ((*down)["reason"], "step 1 failed");
  EXPECT_EQ(r.exit_status, 0);
  EXPECT_FALSE(r.timed_out);
}

}  // namespace
}  // namespace mos::vmtest
