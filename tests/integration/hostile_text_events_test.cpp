// Issue 19 item 5 end to end for the two outputs no other test reaches with hostile text: a
// storage.event notification and an audit line. The daemon runs in its default configuration;
// the subscriber and the caller are not root. A loop device whose backing file name and ext4
// label carry ESC, newline and a byte that is not UTF-8 must reach the subscriber as one valid
// JSON line (U+FFFD for the bad byte): the label is made valid by the probe already, the backing
// file name (read from sysfs as it is) only by the event's own boundary. A device path with ESC
// and a newline that forges a second audit line must stay on its own line.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <thread>

#include "base/safe_text.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/loop.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;

// ESC [31m, newline and 0xFF (not UTF-8) inside an ext4 label (16 bytes at most).
const std::string kHostileLabel = "E\x1b[31m\nN\xffZ";
const std::string kLabelAsJson = "E\x1b[31m\nN\xEF\xBF\xBDZ";  // 0xFF arrives as U+FFFD
// The same kinds of bytes in the backing file's name.
const std::string kHostileFileName = "img-\x1b[31m\n\xff";
const std::string kFileNameAsJson = "img-\x1b[31m\n\xEF\xBF\xBD";

std::string file_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}

// A subscriber running as `user` (no groups) in a child process: it subscribes to the devices
// topic and appends every line the daemon sends, byte for byte, to `out`.
class RawSubscriber {
 public:
  RawSubscriber(const TestUser& user, const std::string& sock, const std::string& out) {
    int fd = ::open(out.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << out;
    passwd* pw = getpwnam(user.name.c_str());
    gid_t gid = pw ? pw->pw_gid : 65534;
    pid_ = fork();
    if (pid_ == 0) {
      if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(user.uid) != 0) _exit(2);
      int s = connect_raw(sock);
      if (s < 0) _exit(3);
      send_all(s, R"({"jsonrpc":"2.0","id":1,"method":"storage.subscribe","params":{"topics":["devices"]}})" "\n");
      char buf[4096];
      for (ssize_t n; (n = ::read(s, buf, sizeof buf)) > 0;)
        if (::write(fd, buf, static_cast<size_t>(n)) != n) _exit(4);
      _exit(0);
    }
    ::close(fd);
  }
  ~RawSubscriber() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  RawSubscriber(const RawSubscriber&) = delete;
  RawSubscriber& operator=(const RawSubscriber&) = delete;

 private:
  pid_t pid_ = -1;
};

// The first line of `text` that contains every one of `parts` (empty when none does).
std::string line_with(const std::string& text, std::initializer_list<std::string> parts) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return line;
  }
  return {};
}

TEST(HostileTextEvents, HostileLabelReachesASubscriberAndAnAuditLineEscaped) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  // The filesystem is made on a plain file: the daemon first sees it when the loop attaches.
  const std::string image = dir / kHostileFileName;
  ASSERT_TRUE(run_tool({"truncate", "-s", "32M", image}).ok());
  auto mkfs = run_tool({"mkfs.ext4", "-q", "-F", "-L", kHostileLabel, image});
  ASSERT_TRUE(mkfs.ok()) << mkfs.err;

  rpc::DaemonOptions o;  // default policy and prefixes
  use_private_dirs(o, dir.path());
  o.socket_path = dir / "s.sock";
  o.socket_mode = 0666;
  o.admin_group = user.group;
  const std::string log = dir / "daemon.log";
  Daemon daemon([o, log](const std::string&) mutable {
    o.log = std::fopen(log.c_str(), "w");
    setvbuf(o.log, nullptr, _IONBF, 0);
    rpc::run_daemon(o);
  }, o.socket_path);

  const std::string events = dir / "events.raw";
  RawSubscriber sub(user, daemon.socket(), events);
  for (int i = 0; i < 100 && file_text(events).find("\"result\"") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_NE(file_text(events).find("\"result\""), std::string::npos) << "not subscribed: " << file_text(events);

  LoopDevice loop = LoopDevice::attach(image);
  const std::string quoted_dev = "\"" + loop.path() + "\"";
  std::string event;
  for (int i = 0; i < 200 && event.empty(); ++i) {
    // The label is probed from the device: the first "add" may come before it is readable.
    event = line_with(file_text(events), {"storage.event", quoted_dev, "\"label\":\"E"});
    if (event.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(event.empty()) << "no devices event with the label for " << loop.path() << ":\n"
                              << printable_text(file_text(events));
  EXPECT_TRUE(is_valid_utf8(event)) << printable_text(event);
  EXPECT_EQ(event.find('\x1b'), std::string::npos) << "a raw ESC in the event line: " << printable_text(event);
  const json parsed = json::parse(event, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << printable_text(event);
  EXPECT_EQ(parsed["params"]["data"]["label"], kLabelAsJson) << printable_text(event);
  EXPECT_EQ(parsed["params"]["data"]["backing_file"], dir / kFileNameAsJson) << printable_text(event);

  // The audit line: a device path that forges a second line as root. An admin call that only
  // reads, of a path that does not exist: nothing can be made even if a check were broken (the
  // audit line is written before the parameters are checked).
  const std::string forged = "mos_volmgrd: audit pid=1 uid=0 method=storage.zero target=/dev/sdz";
  const std::string device = "/dev/mos-i19-\x1b[31m\n" + forged;
  (void)user.call_method(daemon.socket(), "storage.checksum", {{"device", device}, {"algo", "xxh64"}}, user.group);
  const std::string audit = file_text(log);
  const std::string call_line = line_with(audit, {"method=storage.checksum"});
  ASSERT_FALSE(call_line.empty()) << printable_text(audit);
  EXPECT_NE(call_line.find("uid=" + std::to_string(user.uid)), std::string::npos) << printable_text(call_line);
  EXPECT_NE(call_line.find("/dev/mos-i19-"), std::string::npos) << printable_text(call_line);
  EXPECT_EQ(audit.find('\x1b'), std::string::npos) << "a raw ESC in the log: " << printable_text(audit);
  std::istringstream lines(audit);
  for (std::string line; std::getline(lines, line);)
    EXPECT_NE(line.rfind(forged, 0), 0u) << "a target forged a log line:\n" << printable_text(audit);
  EXPECT_TRUE(daemon.alive());
}

}  // namespace
}  // namespace mos::test
