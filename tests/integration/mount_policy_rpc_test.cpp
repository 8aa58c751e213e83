// Issue 19 item 3, through the daemon in its default configuration (no --allow-devices, default
// mount prefixes) and a client that is not root but in the admin group: only block filesystems
// the project manages are mounted, from a block device, never under /run; suid/dev only for
// uid 0; unmount only of what the policy would have mounted. The daemon runs in a private mount
// namespace, so a broken refusal cannot shadow the machine's own directories.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

// The mount points (field 5 of mountinfo) the process `pid` sees.
std::vector<std::string> mount_points_of(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/mountinfo");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string id, parent, dev, root, point;
    in >> id >> parent >> dev >> root >> point;
    out.push_back(point);
  }
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Directories a test makes outside its TempDir, removed (when empty) at scope end.
struct MadeDirs {
  std::vector<std::string> paths;
  ~MadeDirs() {
    for (auto it = paths.rbegin(); it != paths.rend(); ++it) ::rmdir(it->c_str());
  }
};

class MountPolicyRpc : public ::testing::Test {
 protected:
  void SetUp() override {
    MOS_REQUIRE_ROOT();
    ASSERT_GT(user.uid, 0u);
    ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
    made.paths = {base, tmpfs_in_prefix, run_tmpfs};
    // The filesystem root mounts; formatted as root, before the daemon under test starts.
    ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", image.dev()}).ok());
    rpc::DaemonOptions o;  // default policy and prefixes: only the socket is opened to the user
    use_private_dirs(o, dir.path());
    o.socket_path = dir / "s.sock";
    o.socket_mode = 0666;
    o.admin_group = user.group;
    const std::vector<std::string> tmpfs_targets = {tmpfs_in_prefix, run_tmpfs};
    ::mkdir(base.c_str(), 0755);
    daemon = std::make_unique<Daemon>(
        [o, tmpfs_targets](const std::string&) mutable {
          // A private mount namespace: what the daemon mounts or unmounts stays in it.
          if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(3);
          // Mounts the daemon did not make: one beneath a default prefix, one under /run.
          for (const auto& t : tmpfs_targets) {
            ::mkdir(t.c_str(), 0755);
            if (::mount("tmpfs", t.c_str(), "tmpfs", 0, "size=1m") != 0) _exit(4);
          }
          rpc::run_daemon(o);
        },
        o.socket_path);
  }

  // One call as the non-root admin.
  nlohmann::json admin_call(const std::string& method, const nlohmann::json& params) {
    return user.call_method(daemon->socket(), method, params, user.group);
  }
  std::vector<std::string> daemon_mounts() { return mount_points_of(daemon->pid()); }

  TestUser user;
  TempDir dir;
  LoopImage image{64 << 20};
  std::string base = "/mnt/mos-i19c-" + std::to_string(getpid());
  std::string tmpfs_in_prefix = base + "/tmpfs";
  std::string run_tmpfs = "/run/mos-i19c-" + std::to_string(getpid());
  MadeDirs made;
  std::unique_ptr<Daemon> daemon;
};

void expect_refused(const nlohmann::json& r, const std::string& why) {
  ASSERT_TRUE(r.contains("error")) << r;
  EXPECT_EQ(r["error"]["code"], -32001) << r;
  EXPECT_NE(r["error"]["message"].get<std::string>().find(why), std::string::npos) << r;
}

TEST_F(MountPolicyRpc, TmpfsOntoRunModprobeDIsRefused) {
  const bool existed = ::access("/run/modprobe.d", F_OK) == 0;
  auto r = admin_call("storage.mount", {{"source", image.dev()}, {"target", "/run/modprobe.d"}, {"fstype", "tmpfs"}});
  expect_refused(r, "is not mounted by mos_volmgr");
  // A managed type onto it: /run is no default prefix.
  r = admin_call("storage.mount", {{"source", image.dev()}, {"target", "/run/modprobe.d"}, {"fstype", "ext4"}});
  expect_refused(r, "is not at or beneath an allowed prefix");
  EXPECT_FALSE(has(daemon_mounts(), "/run/modprobe.d"));
  if (!existed) ::rmdir("/run/modprobe.d");  // only made by a broken refusal
}

TEST_F(MountPolicyRpc, UnknownFstypeIsRefusedBeforeFsopen) {
  const std::string target = base + "/unknown";
  auto r = admin_call("storage.mount", {{"source", image.dev()}, {"target", target}, {"fstype", "mosnosuchfs"}});
  expect_refused(r, "other block filesystems only by the daemon's --mount-fstype");
  EXPECT_NE(::access(target.c_str(), F_OK), 0) << "nothing is created for a refused type";
  ::rmdir(target.c_str());
}

TEST_F(MountPolicyRpc, NonBlockSourceIsRefused) {
  const std::string file = dir / "image";
  std::ofstream(file) << "not a device";
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0644), 0);
  for (const std::string& source : {file, dir / "fifo", std::string("/dev/null")}) {
    auto r = admin_call("storage.mount", {{"source", source}, {"target", base + "/src"}, {"fstype", "ext4"}});
    expect_refused(r, "is not a block device");
  }
  EXPECT_FALSE(has(daemon_mounts(), base + "/src"));
}

TEST_F(MountPolicyRpc, PrivilegedOnlyForRoot) {
  const std::string target = base + "/priv";
  made.paths.push_back(target);
  const nlohmann::json params = {
      {"source", image.dev()}, {"target", target}, {"fstype", "ext4"}, {"options", "suid,dev"}, {"privileged", true}};
  expect_refused(admin_call("storage.mount", params), "allowed only to uid 0");
  EXPECT_FALSE(has(daemon_mounts(), target));
  // The admin without privileged mounts it nosuid,nodev and may unmount what the policy mounts.
  auto r = admin_call("storage.mount", {{"source", image.dev()}, {"target", target}, {"fstype", "ext4"}});
  ASSERT_TRUE(r.contains("result")) << r;
  EXPECT_TRUE(has(daemon_mounts(), target));
  ASSERT_TRUE(admin_call("storage.unmount", {{"path", target}}).contains("result"));
  // Root may ask for suid and dev.
  rpc::Client root(daemon->socket());
  EXPECT_EQ(rpc_error(root, "storage.mount", params).first, 0);
  EXPECT_TRUE(has(daemon_mounts(), target));
  EXPECT_EQ(rpc_error(root, "storage.unmount", {{"path", target}}).first, 0);
  EXPECT_FALSE(has(daemon_mounts(), target));
}

TEST_F(MountPolicyRpc, UnmountOfWhatTheDaemonWouldNotMountIsRefused) {
  ASSERT_TRUE(has(daemon_mounts(), tmpfs_in_prefix));
  ASSERT_TRUE(has(daemon_mounts(), run_tmpfs));
  expect_refused(admin_call("storage.unmount", {{"path", tmpfs_in_prefix}}), "only unmounts what storage.mount would mount");
  expect_refused(admin_call("storage.unmount", {{"path", run_tmpfs}}), "is not at or beneath an allowed prefix");
  rpc::Client root(daemon->socket());
  EXPECT_EQ(rpc_error(root, "storage.unmount", {{"path", tmpfs_in_prefix}}).first, -32001) << "root alike";
  EXPECT_TRUE(has(daemon_mounts(), tmpfs_in_prefix));
  EXPECT_TRUE(has(daemon_mounts(), run_tmpfs));
}

}  // namespace
}  // namespace mos::test
