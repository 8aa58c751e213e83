// storage.volume_* and `mos-volmgr volume` end to end: the real daemon (sandboxed, execve denied)
// with --volumes-dir on a btrfs on loop devices; losetup, sha256sum and the kernel judge.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "rpc/client.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/integration/volumes_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;

// Create (idempotent), clone, list, attach; a restarted daemon finds the attachment; delete is
// refused while attached and leaves the image byte-unchanged; detach, then delete.
TEST(VolumesRpc, CliLifecycleAndARestartedDaemonFindsTheAttachment) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("volrpc"));
  DetachLoopsUnder cleanup{fs.mnt() + "/volumes/"};
  auto d = volume_daemon(fs);
  ASSERT_TRUE(d->ready());
  json made = d->cli_json({"--json", "volume", "create", "vm1", "--size", "64M"});
  ASSERT_TRUE(made.is_object()) << made;
  EXPECT_EQ(made["path"], fs.mnt() + "/volumes/vm1");
  EXPECT_EQ(made["size"], 64u << 20);
  EXPECT_EQ(d->cli_json({"--json", "volume", "create", "vm1", "--size", "64M"})["created_unix"], made["created_unix"]);
  auto other = d->cli({"volume", "create", "vm1", "--size", "128M"});
  EXPECT_NE(other.exit_code, 0);
  EXPECT_NE(other.err.find("exists"), std::string::npos) << other.err;
  ASSERT_TRUE(run_sh("dd if=/dev/urandom of=" + made["path"].get<std::string>() +
                     " bs=1M count=4 conv=notrunc,fsync status=none").ok());
  json clone = d->cli_json({"--json", "volume", "clone", "vm1", "vm2"});
  EXPECT_EQ(clone["origin"], "vm1");
  EXPECT_EQ(clone["shared_bytes"], 4u << 20) << clone;
  json fsvol = d->cli_json({"--json", "volume", "create", "ct", "--kind", "fs"});
  EXPECT_EQ(fsvol["kind"], "fs");
  auto table = d->cli({"volume", "list"});
  ASSERT_TRUE(table.ok()) << table.err;
  for (const char* n : {"vm1", "vm2", "ct"}) EXPECT_NE(table.out.find(n), std::string::npos) << table.out;

  json att = d->cli_json({"--json", "volume", "attach", "vm1"});
  const std::string dev = att.value("device", "");
  ASSERT_EQ(dev.rfind("/dev/loop", 0), 0u) << att;
  EXPECT_EQ(trim(run_tool({"blockdev", "--getsize64", dev}).out), std::to_string(64u << 20));
  EXPECT_EQ(std::filesystem::read_symlink(fs.dir() / "run/volumes/vm1").string(), dev);

  // A restart remembers nothing, and finds the attachment on the kernel's side.
  EXPECT_EQ(d->stop(SIGTERM), 0);
  d = volume_daemon(fs);
  ASSERT_TRUE(d->ready());
  json shown = d->cli_json({"--json", "volume", "show", "vm1"});
  EXPECT_EQ(shown["attached"], dev) << shown;
  const std::string before = run_tool({"sha256sum", made["path"]}).out;
  auto refused = d->cli({"volume", "delete", "vm1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find(dev), std::string::npos) << refused.err;
  EXPECT_EQ(run_tool({"sha256sum", made["path"]}).out, before);
  json det = d->cli_json({"--json", "volume", "detach", "vm1"});
  EXPECT_EQ(det["device"], dev);
  EXPECT_FALSE(std::filesystem::exists("/sys/block/" + dev.substr(5) + "/loop/backing_file"));
  for (const char* n : {"vm1", "vm2", "ct"}) EXPECT_TRUE(d->cli({"volume", "delete", n}).ok()) << n;
  EXPECT_TRUE(d->cli_json({"--json", "volume", "list"}).empty());
}

// Every volume method needs the admin role, the reads too (they open the images): a caller that
// is not root and not in the admin group is refused before anything is opened or made. The daemon
// runs with its default policy (no allow list) on a socket any local user reaches.
TEST(VolumesRpc, NonAdminsAreRefusedEveryVolumeMethod) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("volrpc2"));
  TestUser user;
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // the user must reach the socket
  mos::rpc::DaemonOptions o;
  use_private_dirs(o, dir.path());
  o.socket_mode = 0666;
  o.volumes_dir = fs.mnt() + "/volumes";
  Daemon d(
      [o](const std::string& sock) mutable {
        o.socket_path = sock;
        mos::rpc::run_daemon(o);
      },
      dir / "d.sock");
  for (const auto& [method, params] : std::vector<std::pair<std::string, json>>{
           {"storage.volume_list", json::object()},
           {"storage.volume_show", {{"name", "x"}}},
           {"storage.volume_create", {{"name", "x"}, {"kind", "block"}, {"size", 1048576}}},
           {"storage.volume_attach", {{"name", "x"}}}}) {
    json answer = user.call_method(d.socket(), method, params);
    ASSERT_TRUE(answer.is_object() && answer.contains("error")) << method << ": " << answer;
    EXPECT_EQ(answer["error"]["code"], -32001) << method << ": " << answer;
    EXPECT_NE(answer["error"].value("message", "").find("permission denied"), std::string::npos) << answer;
  }
  EXPECT_FALSE(std::filesystem::exists(fs.mnt() + "/volumes"));
}
