// Issue 19 item 1: what a caller who is not root and not an admin may make the daemon do, with
// the daemon in its default configuration (no --allow-devices): pure reads of metadata. Only
// block devices are opened (a FIFO, a character device, a regular file or a /dev/.. path is
// refused after an O_PATH look, never opened), device contents need the admin role, and a query
// of an unmounted btrfs never mounts it. Every device named is a loop device the test attached.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "rpc/client.hpp"
#include "rpc/daemon.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
constexpr uint64_t MiB = 1ull << 20;

// The real daemon with its default options (no allow list, no admin group) on a socket any
// local user reaches, in private run and state directories.
struct DefaultDaemon {
  TempDir dir;
  std::unique_ptr<Daemon> daemon;
  DefaultDaemon() {
    EXPECT_EQ(chmod(dir.path().c_str(), 0755), 0);  // the user must reach the socket
    rpc::DaemonOptions o;
    use_private_dirs(o, dir.path());
    o.socket_mode = 0666;
    daemon = std::make_unique<Daemon>(
        [o](const std::string& sock) mutable {
          o.socket_path = sock;
          rpc::run_daemon(o);
        },
        dir / "d.sock");
  }
  const std::string& socket() const { return daemon->socket(); }
};

// A FIFO, removed at scope end (nobody ever writes to it: an open for reading would block).
struct Fifo {
  std::string path;
  explicit Fifo(std::string p) : path(std::move(p)) { EXPECT_EQ(mkfifo(path.c_str(), 0666), 0) << path; }
  ~Fifo() { ::unlink(path.c_str()); }
};

std::string error_message(const json& r) {
  return r.is_object() && r.contains("error") ? r["error"].value("message", "") : std::string("no error: ") + r.dump();
}

void expect_refused_as(const json& r, const std::string& what) {
  ASSERT_TRUE(r.is_object()) << "no answer (the daemon blocked in open?)";
  EXPECT_EQ(r["error"]["code"], -32001) << r;
  EXPECT_NE(error_message(r).find(what), std::string::npos) << r;
}

// Before: the worker blocked in open() of the FIFO for ever (no answer), /dev/null and a regular
// file were opened and only then found not to be block devices, and SIGTERM no longer stopped a
// daemon whose workers were stuck.
TEST(RpcLeastPrivilege, NonBlockDevicesAreRefusedUnopened) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  DefaultDaemon d;
  Fifo shm("/dev/shm/mos-i19-q" + std::to_string(getpid()));
  Fifo tmp("/tmp/mos-i19-x" + std::to_string(getpid()));
  const std::string regular = "/dev/shm/mos-i19-f" + std::to_string(getpid());  // the schema wants /dev/...
  std::ofstream(regular) << "not a disk";
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); }
  } remove_regular{regular};
  auto read_table = [&](const std::string& disk) {
    return user.call_method(d.socket(), "storage.read_partition_table", {{"disk", disk}});
  };

  const auto t0 = std::chrono::steady_clock::now();
  expect_refused_as(read_table(shm.path), "is a FIFO");
  expect_refused_as(read_table("/dev/.." + tmp.path), "is a FIFO");  // /dev/../tmp/x is /tmp/x
  expect_refused_as(read_table("/dev/null"), "is a character device");
  expect_refused_as(read_table("/dev/tty"), "is a character device");
  expect_refused_as(read_table(regular), "is a regular file");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << "the refusals must come at once";

  // More FIFO calls than workers, at once: all answered, and the daemon still serves and stops.
  std::vector<std::thread> callers;
  std::vector<json> answers(12);
  for (size_t i = 0; i < answers.size(); ++i)
    callers.emplace_back([&, i] { answers[i] = read_table(shm.path); });
  for (auto& t : callers) t.join();
  for (const auto& a : answers) expect_refused_as(a, "is a FIFO");
  EXPECT_TRUE(user.call(d.socket(), R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks"})")["result"].is_array());
  EXPECT_EQ(d.daemon->stop(SIGTERM), 0);
}

// Before: storage.checksum answered any caller with the digest of the device (a confirmation
// oracle for its contents) and queued a job.
TEST(RpcLeastPrivilege, ChecksumNeedsTheAdminRole) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  LoopImage disk(8 * MiB);
  DefaultDaemon d;
  json r = user.call_method(d.socket(), "storage.checksum", {{"device", disk.dev()}, {"algo", "xxh64"}});
  expect_refused_as(r, "reads device contents");
  EXPECT_NE(error_message(r).find("--admin-group"), std::string::npos) << r;
  rpc::Client root(d.socket());
  EXPECT_TRUE(root.call("storage.jobs", json::object()).empty()) << "no job was started";
  EXPECT_EQ(root.call("storage.checksum", {{"device", disk.dev()}, {"algo", "xxh64"}})["bytes"], 8 * MiB);
}

// Before: storage.list_subvolumes of an unmounted btrfs answered by mounting it read-write under
// the run directory, for any caller.
TEST(RpcLeastPrivilege, ListSubvolumesOfAnUnmountedBtrfsMountsNothing) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  LoopImage disk(256 * MiB);
  const std::string label = "mos-i19-ls" + std::to_string(getpid());
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-f", "-q", "-L", label, disk.dev()}).ok());
  const std::string before = sha256_of(disk.dev());
  DefaultDaemon d;
  json r = user.call_method(d.socket(), "storage.list_subvolumes", {{"filesystem", label}});
  expect_refused_as(r, "not mounted");
  EXPECT_FALSE(mounted_from(disk.dev()));
  // The same for root: a query never mounts.
  rpc::Client root(d.socket());
  EXPECT_EQ(rpc_error(root, "storage.list_subvolumes", {{"filesystem", label}}).first, -32001);
  EXPECT_FALSE(mounted_from(disk.dev()));
  EXPECT_EQ(sha256_of(disk.dev()), before);
}

}  // namespace
}  // namespace mos::test
