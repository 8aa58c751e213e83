// Exclusive GPT writes: from the busy check through the last write and the
// BLKPG calls a partition-table change holds the disk (O_EXCL + udev flock), so a partition
// cannot be mounted in between. The engine pauses inside its locked section (test hook) while
// this process tries mount(2) from outside; the kernel must answer EBUSY.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "engine/disk_access.hpp"
#include "engine/partition/partition.hpp"
#include "tests/integration/gpt_support.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

// Runs `change` in the sandbox with the engine paused inside its locked section while
// mount(2) of `part` is tried from here; returns the mount's errno (0: it mounted).
int mount_errno_during(const std::string& part, const std::string& target, const std::function<void()>& change,
                       EngineOutcome& outcome) {
  int paused[2], resume[2];
  if (::pipe(paused) != 0 || ::pipe(resume) != 0) return -1;
  engine::test_hooks::inside_table_lock = [&](const std::string&) {
    char c = 'p';
    (void)!::write(paused[1], &c, 1);
    (void)!::read(resume[0], &c, 1);
  };
  int mount_errno = -1;
  std::thread outside([&] {
    pollfd p{paused[0], POLLIN, 0};
    if (::poll(&p, 1, 20000) == 1) {
      char c;
      (void)!::read(paused[0], &c, 1);
      mount_errno = ::mount(part.c_str(), target.c_str(), "ext4", MS_NOSUID | MS_NODEV, nullptr) == 0 ? 0 : errno;
      if (mount_errno == 0) ::umount2(target.c_str(), MNT_DETACH);
    }
    char c = 'r';
    (void)!::write(resume[1], &c, 1);
  });
  outcome = engine_outcome([&] {
    change();
    return nlohmann::json::object();
  });
  outside.join();
  engine::test_hooks::inside_table_lock = nullptr;
  for (int fd : {paused[0], paused[1], resume[0], resume[1]}) ::close(fd);
  return mount_errno;
}

struct TwoPartitions {
  LoopImage img{64 * MiB};
  std::string p1, p2;
  TwoPartitions() {
    auto made = engine_outcome([&] {
      engine::create_partition_layout(img.dev(), {{"one", "linux", 16 * MiB}, {"two", "linux", 16 * MiB}}, false, false);
      return nlohmann::json::object();
    });
    EXPECT_TRUE(made.ok) << made.message;
    p1 = img.dev() + "p1";
    p2 = img.dev() + "p2";
    EXPECT_TRUE(wait_for_path(p1) && wait_for_path(p2));
    EXPECT_TRUE(run_tool({"mkfs.ext4", "-q", p1}).ok());
    EXPECT_TRUE(run_tool({"mkfs.ext4", "-q", p2}).ok());
  }
};

TEST(GptExclusive, NoPartitionCanBeMountedWhileTheTableIsReplaced) {
  MOS_REQUIRE_ROOT();
  TwoPartitions d;
  TempDir mnt;
  // The control: outside the change, p1 mounts.
  ASSERT_EQ(::mount(d.p1.c_str(), mnt.path().c_str(), "ext4", MS_NOSUID | MS_NODEV, nullptr), 0) << errno;
  ASSERT_EQ(::umount2(mnt.path().c_str(), 0), 0);
  EngineOutcome o;
  int err = mount_errno_during(d.p1, mnt.path(), [&] { engine::create_partition_table(d.img.dev(), true, false); }, o);
  EXPECT_EQ(err, EBUSY) << "mount of " << d.p1 << " during the table write: errno " << err;
  EXPECT_TRUE(o.ok) << o.message;
  auto v = sgdisk_verify(d.img.dev());
  EXPECT_TRUE(v.clean) << v.output;
}

// Deleting a partition next to a mounted one: the disk cannot be held whole, so the partition
// being deleted is held until its entry is gone.
TEST(GptExclusive, ThePartitionBeingDeletedCannotBeMountedMeanwhile) {
  MOS_REQUIRE_ROOT();
  TwoPartitions d;
  TempDir busy, mnt;
  ASSERT_TRUE(run_tool({"mount", d.p1, busy.path()}).ok());
  MountGuard guard(busy.path());
  EngineOutcome o;
  int err = mount_errno_during(d.p2, mnt.path(), [&] { engine::delete_partition(d.img.dev(), 2, false); }, o);
  EXPECT_EQ(err, EBUSY) << "mount of " << d.p2 << " during the delete: errno " << err;
  EXPECT_TRUE(o.ok) << o.message;
  EXPECT_FALSE(run_tool({"test", "-b", d.p2}).ok()) << "the kernel still has partition 2";
}

}  // namespace
}  // namespace mos::test
