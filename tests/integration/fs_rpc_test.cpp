// storage.create_filesystem / mount / unmount / usage through the JSON-RPC server (sandboxed
// child, policy /dev/loop*) and through the mos-volmgr CLI over the same socket.
#include <gtest/gtest.h>

#include <optional>

#include "base/error.hpp"
#include "ioctl/mountinfo.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

bool mounted(const std::string& target) {
  for (auto& m : io::read_mountinfo())
    if (m.mount_point == target) return true;
  return false;
}

// One line on stderr, no trailing noise.
bool one_line(const std::string& err) { return !err.empty() && err.find('\n') == err.size() - 1; }

TEST(FsRpc, CreateMountUsageUnmount) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(100 * MiB);
  nlohmann::json made = c.call("storage.create_filesystem", {{"device", img.dev()}, {"fstype", "vfat"}, {"label", "MOSBOOT"}});
  EXPECT_EQ(made["fstype"], "vfat");
  EXPECT_FALSE(made["dry_run"].get<bool>());
  EXPECT_EQ(blkid_probe(img.dev())["LABEL"], "MOSBOOT");
  EXPECT_EQ(blkid_probe(img.dev())["UUID"], made["uuid"].get<std::string>());
  EXPECT_TRUE(run_tool({"fsck.fat", "-n", img.dev()}).ok());

  // This kernel has no vfat driver (the VM tests mount vfat); mount an ext4 made by mkfs.ext4.
  LoopImage ext4(64 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", ext4.dev()}).ok());
  TempDir dir;
  const std::string target = dir / "boot";
  nlohmann::json m = c.call("storage.mount", {{"source", ext4.dev()}, {"target", target}, {"fstype", "ext4"}, {"options", "noatime"}});
  MountGuard guard(target);
  EXPECT_EQ(m["target"], target);
  EXPECT_TRUE(mounted(target));
  nlohmann::json usage = c.call("storage.usage");
  bool listed = false;
  for (auto& u : usage) listed = listed || (u["target"] == target && u["fstype"] == "ext4" && u["device"] == ext4.dev());
  EXPECT_TRUE(listed) << usage.dump();
  nlohmann::json u = c.call("storage.unmount", {{"path", target}});
  EXPECT_EQ(u["target"], target);
  EXPECT_FALSE(mounted(target));
}

// The pre-write checks read the kernel's tables and hold the device O_EXCL, never trust a model
// that may lag: a mount made from outside a moment ago (after the daemon's inventory was
// taken) is refused, and the same device formats once it is unmounted, with an answer that
// agrees with blkid.
TEST(FsRpc, AFreshMountFromOutsideIsRefusedAndTheAnswerMatchesBlkid) {
  MOS_REQUIRE_ROOT();
  LoopImage img(128 * MiB);  // btrfs needs 109 MiB
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-L", "OUTSIDE", "-E", "lazy_itable_init=0,lazy_journal_init=0", img.dev()}).ok());
  SandboxedDaemon server(img.dev());
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  c.call("storage.inventory");  // the model is warm and says: not mounted
  TempDir dir;
  ASSERT_TRUE(run_tool({"mount", "-o", "ro", img.dev(), dir.path()}).ok());
  std::optional<MountGuard> guard(std::in_place, dir.path());
  const std::string before = sha256_of(img.dev());
  nlohmann::json params = {{"device", img.dev()}, {"fstype", "swap"}, {"label", "NEW"}, {"force", true}};
  try {
    c.call("storage.create_filesystem", params);
    ADD_FAILURE() << "a device mounted from outside was formatted";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), -32001);
    EXPECT_NE(std::string(e.what()).find("mounted at " + dir.path()), std::string::npos) << e.what();
  }
  EXPECT_EQ(sha256_of(img.dev()), before);
  guard.reset();  // unmounts

  for (const std::string fstype : {"swap", "ext4", "btrfs", "vfat"}) {
    params["fstype"] = fstype;
    params["label"] = fstype == "vfat" ? "NEWVFAT" : "new-" + fstype;
    nlohmann::json made = c.call("storage.create_filesystem", params);
    auto id = blkid_probe(img.dev());
    const nlohmann::json& dev = made["device"];
    EXPECT_EQ(dev["fstype"], id["TYPE"]) << fstype;
    EXPECT_EQ(dev["label"], id["LABEL"]) << fstype;
    EXPECT_EQ(dev["uuid"], id["UUID"]) << fstype;
    EXPECT_EQ(made["uuid"], id["UUID"]) << fstype;
    EXPECT_EQ(dev["size_bytes"], 128 * MiB);
    EXPECT_TRUE(dev.at("mountpoints").empty());
  }
}

TEST(FsRpc, Ext4OptionsReachTheWriter) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(128 * MiB);  // mke2fs would pick 1024-byte blocks here
  c.call("storage.create_filesystem", {{"device", img.dev()}, {"fstype", "ext4"}, {"label", "OPTS"},
                                       {"uuid", "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"},
                                       {"options", {{"full_init", true}, {"block_size", 4096}}}});
  ToolResult fsck = run_tool({"e2fsck", "-fn", img.dev()});
  EXPECT_TRUE(fsck.ok()) << fsck.out;
  ToolResult dump = run_tool({"dumpe2fs", img.dev()});
  ASSERT_TRUE(dump.ok()) << dump.err;
  EXPECT_NE(dump.out.find("Block size:               4096"), std::string::npos);
  EXPECT_NE(dump.out.find("ITABLE_ZEROED"), std::string::npos);  // full_init: inode tables written now
  EXPECT_EQ(blkid_probe(img.dev())["UUID"], "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
}

TEST(FsRpc, ParamsAreCheckedBeforeTheEngine) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  LoopImage img(100 * MiB);
  auto unknown_fstype = rpc_error(c, "storage.create_filesystem", {{"device", img.dev()}, {"fstype", "xfs"}, {"label", ""}});
  EXPECT_EQ(unknown_fstype.first, -32602) << unknown_fstype.second;
  EXPECT_NE(unknown_fstype.second.find("fstype"), std::string::npos) << unknown_fstype.second;
  auto long_label = rpc_error(c, "storage.create_filesystem",
                              {{"device", img.dev()}, {"fstype", "btrfs"}, {"label", std::string(256, 'x')}});
  EXPECT_EQ(long_label.first, -32602) << long_label.second;
  auto unknown_field = rpc_error(c, "storage.create_filesystem",
                                 {{"device", img.dev()}, {"fstype", "vfat"}, {"label", "X"}, {"cluster", 4}});
  EXPECT_EQ(unknown_field.first, -32602) << unknown_field.second;
  auto bad_block_size = rpc_error(c, "storage.create_filesystem",
                                  {{"device", img.dev()}, {"fstype", "ext4"}, {"label", "X"}, {"options", {{"block_size", 3000}}}});
  EXPECT_EQ(bad_block_size.first, -32602) << bad_block_size.second;
  auto bad_fat_label = rpc_error(c, "storage.create_filesystem", {{"device", img.dev()}, {"fstype", "vfat"}, {"label", "lower"}});
  EXPECT_EQ(bad_fat_label.first, -32001) << bad_fat_label.second;
  auto missing_source = rpc_error(c, "storage.mount", {{"source", "/dev/loop-nope"}, {"target", "/mnt/x"}, {"fstype", "ext4"}});
  EXPECT_EQ(missing_source.first, -32002) << missing_source.second;
  auto bad_fstype = rpc_error(c, "storage.mount", {{"source", img.dev()}, {"target", "/mnt/x"}, {"fstype", "ext4 -o x"}});
  EXPECT_EQ(bad_fstype.first, -32602) << bad_fstype.second;
  EXPECT_TRUE(blkid_probe(img.dev()).empty());  // nothing was written by any of these
}

TEST(FsRpc, DeviceOutsideAllowDevicesIsRefused) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server("/dev/loop*");
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  auto e = rpc_error(c, "storage.create_filesystem", {{"device", "/dev/zram0"}, {"fstype", "swap"}, {"label", "X"}, {"force", true}});
  EXPECT_EQ(e.first, -32001) << e.second;
  EXPECT_NE(e.second.find("not allowed"), std::string::npos) << e.second;
  auto m = rpc_error(c, "storage.mount", {{"source", "/dev/zram0"}, {"target", "/mnt/mos-never"}, {"fstype", "ext4"}});
  EXPECT_EQ(m.first, -32001) << m.second;
  EXPECT_FALSE(mounted("/mnt/mos-never"));

  // A loop device outside a narrower policy: refused, and the device keeps its bytes.
  SandboxedDaemon narrow("/dev/loop999");
  ASSERT_TRUE(narrow.ready());
  rpc::Client n(narrow.socket());
  LoopImage img(64 * MiB);
  ASSERT_TRUE(run_tool({"mkswap", "-L", "KEEP", img.dev()}).ok());
  std::string before = sha256_of(img.dev());
  auto r = rpc_error(n, "storage.create_filesystem", {{"device", img.dev()}, {"fstype", "vfat"}, {"label", "X"}, {"force", true}});
  EXPECT_EQ(r.first, -32001) << r.second;
  EXPECT_EQ(sha256_of(img.dev()), before);
}

TEST(FsCli, CommandsOverTheSocket) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon server;
  ASSERT_TRUE(server.ready());
  LoopImage img(100 * MiB);

  ToolResult dry = server.cli({"create-filesystem", "--device", img.dev(), "--fstype", "vfat", "--label", "CLI", "--dry-run"});
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("wipe-old-signatures"), std::string::npos) << dry.out;
  EXPECT_TRUE(blkid_probe(img.dev()).empty());

  ToolResult made = server.cli({"create-filesystem", "--device", img.dev(), "--fstype", "vfat", "--label", "CLI",
                                 "--uuid", "CAFE-F00D"});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(blkid_probe(img.dev())["UUID"], "CAFE-F00D");

  LoopImage ext4(64 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", ext4.dev()}).ok());
  TempDir dir;
  const std::string target = dir / "m";
  ToolResult m = server.cli({"mount", "--source", ext4.dev(), "--target", target, "--fstype", "ext4", "--options", "noatime,nodev"});
  MountGuard guard(target);
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_TRUE(mounted(target));

  ToolResult usage = server.cli({"usage"});
  EXPECT_EQ(usage.exit_code, 0) << usage.err;
  EXPECT_NE(usage.out.find("MOUNT POINT"), std::string::npos) << usage.out;
  EXPECT_NE(usage.out.find(target), std::string::npos) << usage.out;
  ToolResult usage_json = server.cli({"usage", "--json"});
  EXPECT_EQ(usage_json.exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(usage_json.out).is_array());

  ToolResult busy = server.cli({"create-filesystem", "--device", ext4.dev(), "--fstype", "vfat", "--label", "X", "--force"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_TRUE(one_line(busy.err)) << busy.err;
  EXPECT_NE(busy.err.find("mounted at"), std::string::npos) << busy.err;

  ToolResult un = server.cli({"unmount", target});
  EXPECT_EQ(un.exit_code, 0) << un.err;
  EXPECT_FALSE(mounted(target));

  ToolResult un2 = server.cli({"unmount", target});
  EXPECT_EQ(un2.exit_code, 1);
  EXPECT_TRUE(one_line(un2.err)) << un2.err;
  EXPECT_NE(un2.err.find("not a mount point"), std::string::npos) << un2.err;

  ToolResult bad_opt = server.cli({"mount", "--source", ext4.dev(), "--target", target, "--fstype", "ext4", "--options", "bogus"});
  EXPECT_EQ(bad_opt.exit_code, 1);
  EXPECT_TRUE(one_line(bad_opt.err)) << bad_opt.err;
  EXPECT_NE(bad_opt.err.find("bogus"), std::string::npos) << bad_opt.err;
  EXPECT_FALSE(mounted(target));

  ToolResult missing = server.cli({"mount", "--source", "/dev/loop-nope", "--target", target, "--fstype", "vfat"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(one_line(missing.err)) << missing.err;

  ToolResult unknown = server.cli({"create-filesystem", "--device", img.dev(), "--fstype", "xfs", "--label", "X"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(one_line(unknown.err)) << unknown.err;
}

}  // namespace
}  // namespace mos::test
