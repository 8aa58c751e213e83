// Issue 19 item 5, through the daemon in its default configuration and a client that is not root
// (admin group): text from the kernel is hostile input. A loop device whose backing file name is
// not UTF-8, zeroed with storage.zero, must neither abort the daemon (the state store once threw
// nlohmann's type_error 316 outside any handler) nor leave a state file the next start rejects.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <gtest/gtest.h>

#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

TEST(HostileTextRpc, NonUtf8BackingFileZeroedThroughTheDaemon) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  const std::string image = dir / "img-\xff\xfe-not-utf8";
  {
    int fd = ::open(image.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 16 << 20), 0);
    ::close(fd);
  }
  LoopDevice loop = LoopDevice::attach(image);
  rpc::DaemonOptions o;  // default policy: the test names only the loop device it attached
  use_private_dirs(o, dir.path());
  o.socket_path = dir / "s.sock";
  o.socket_mode = 0666;
  o.admin_group = user.group;
  auto start = [&] { return std::make_unique<Daemon>([o](const std::string&) { rpc::run_daemon(o); }, o.socket_path); };

  auto daemon = start();
  auto r = user.call_method(daemon->socket(), "storage.zero", {{"device", loop.path()}, {"force", true}}, user.group);
  ASSERT_TRUE(r.contains("result")) << r;
  const nlohmann::json backing = r["result"]["device"]["backing_file"];
  ASSERT_TRUE(backing.is_string()) << r;
  EXPECT_NE(backing.get<std::string>().find("img-\xEF\xBF\xBD\xEF\xBF\xBD-not-utf8"), std::string::npos)
      << "invalid bytes arrive as U+FFFD: " << r;
  // The daemon still answers, to the same user and to root.
  EXPECT_TRUE(user.call_method(daemon->socket(), "storage.list_disks", nlohmann::json::object())["result"].is_array());
  EXPECT_TRUE(daemon->alive());
  EXPECT_EQ(daemon->stop(SIGTERM), 0);

  // The state file it wrote loads at the next start: the job is there, nothing set aside as corrupt.
  daemon = start();
  rpc::Client root(daemon->socket());
  auto jobs = root.call("storage.jobs");
  ASSERT_TRUE(jobs.is_array()) << jobs;
  ASSERT_EQ(jobs.size(), 1u) << jobs;
  EXPECT_EQ(jobs[0]["kind"], "zero") << jobs;
  EXPECT_EQ(jobs[0]["state"], "succeeded") << jobs;
  for (const auto& e : std::filesystem::directory_iterator(o.state_dir))
    EXPECT_EQ(e.path().string().find(".corrupt"), std::string::npos) << e.path();
  EXPECT_EQ(daemon->stop(SIGTERM), 0);
}

}  // namespace
}  // namespace mos::test
