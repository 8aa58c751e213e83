// storage.disk_health and `mos-volmgr health` through the daemon: a loop device answers unknown
// with its reason (no SMART to read), to a caller who is neither root nor an admin as well
// (SMART data is metadata); the method is in rpc.discover; a device outside the policy is refused.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;

TEST(HealthRpc, LoopDeviceIsUnknownWithItsReasonForNonAdminsToo) {
  MOS_REQUIRE_ROOT();
  LoopImage img(16 << 20);
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  SandboxedDaemon daemon("/dev/loop*", [](rpc::DaemonOptions& o) { o.socket_mode = 0666; });
  ASSERT_TRUE(daemon.ready());
  ASSERT_EQ(chmod(daemon.dir().c_str(), 0755), 0);  // the user must reach the socket

  json r = user.call_method(daemon.socket(), "storage.disk_health", {{"disk", img.dev()}});
  ASSERT_TRUE(r.contains("result")) << r;
  const json& h = r["result"];
  EXPECT_EQ(h["disk"], img.dev());
  EXPECT_EQ(h["status"], "unknown");
  EXPECT_EQ(h["transport"], "none");
  EXPECT_EQ(h["reasons"], json::array({"loop devices carry no SMART data"})) << h;
  EXPECT_TRUE(h["attributes"].is_null());
  EXPECT_TRUE(h["nvme"].is_null());

  // Outside the allow list: refused by the policy, whoever asks.
  json refused = user.call_method(daemon.socket(), "storage.disk_health", {{"disk", "/dev/zram0"}});
  EXPECT_EQ(refused["error"]["code"], -32001) << refused;

  json discover = daemon.rpc_raw({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "rpc.discover"}});
  bool listed = false;
  for (const auto& m : discover["result"]["methods"]) listed = listed || m["name"] == "storage.disk_health";
  EXPECT_TRUE(listed);
}

TEST(HealthCli, TableAndJsonForOneDisk) {
  MOS_REQUIRE_ROOT();
  LoopImage img(16 << 20);
  SandboxedDaemon daemon;
  ASSERT_TRUE(daemon.ready());
  json one = daemon.cli_json({"health", img.dev()});
  EXPECT_EQ(one["status"], "unknown") << one;
  EXPECT_EQ(one["disk"], img.dev());
  ToolResult table = daemon.cli({"health", img.dev()});
  ASSERT_TRUE(table.ok()) << table.err;
  EXPECT_NE(table.out.find("STATUS"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(img.dev()), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("loop devices carry no SMART data"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace mos::test
