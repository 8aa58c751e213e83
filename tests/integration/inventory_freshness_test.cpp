// The daemon's in-memory inventory stays true while the system changes behind its back: losetup
// attach/detach, mkfs.ext4/mkfs.btrfs (no uevent on a machine without udev), mount/umount and
// `btrfs subvolume create` from outside. Announced changes (uevents, the mount table) show in the
// very next query; unannounced ones within the revalidation bound (2 s period; asserted <= 4 s).
// blkid and btrfs-progs are the oracles for what the device carries.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/inventory/events.hpp"
#include "engine/inventory/cache.hpp"
#include "rpc/client.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;
constexpr auto kUnannouncedBound = std::chrono::milliseconds(4000);

// A loop device attached with losetup (behind the daemon's back), detached in every outcome.
class LosetupImage {
 public:
  explicit LosetupImage(uint64_t bytes) {
    file_ = dir_ / "img";
    auto r = run_tool({"truncate", "-s", std::to_string(bytes), file_});
    if (!r.ok()) throw std::runtime_error(r.err);
    r = run_tool({"losetup", "--find", "--show", file_});
    if (!r.ok()) throw std::runtime_error("losetup: " + r.err);
    dev_ = r.out.substr(0, r.out.find('\n'));
  }
  ~LosetupImage() { detach(); }
  void detach() {
    if (!dev_.empty()) run_tool({"losetup", "-d", dev_});
    dev_.clear();
  }
  const std::string& dev() const { return dev_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string file_, dev_;
};

const json* find_by(const json& list, const std::string& key, const std::string& value) {
  for (const auto& x : list)
    if (x.contains(key) && x[key].is_string() && x[key] == value) return &x;
  return nullptr;
}

// Queries until pred holds; the time it took, or nullopt after the bound.
template <class Pred>
std::optional<std::chrono::milliseconds> shows_within(rpc::Client& c, const std::string& method, Pred pred,
                                                      std::chrono::milliseconds bound) {
  auto start = clock_type::now();
  for (;;) {
    if (pred(c.call(method))) return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    if (clock_type::now() - start > bound) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(InventoryFreshness, ChangesBehindTheDaemonsBackShow) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon d;
  ASSERT_TRUE(d.ready());
  rpc::Client c(d.socket());
  c.call("storage.list_disks");  // the model exists before the changes below

  auto img = std::make_unique<LosetupImage>(256ull << 20);
  const std::string dev = img->dev();
  // Announced by the kernel (loop configure emits a change uevent): the very next query.
  json disks = c.call("storage.list_disks");
  const json* ours = find_by(disks, "path", dev);
  ASSERT_NE(ours, nullptr) << dev << " missing right after losetup";
  EXPECT_EQ((*ours)["size_bytes"], 256ull << 20);
  EXPECT_EQ((*ours)["backing_file"], img->dir() + "/img");
  EXPECT_TRUE((*ours)["fstype"].is_null());

  // mkfs.ext4 with no udev running emits no uevent: the revalidation must find it.
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", dev}).ok());
  std::string ext4_uuid = blkid_probe(dev)["UUID"];
  ASSERT_FALSE(ext4_uuid.empty());
  auto took = shows_within(c, "storage.list_filesystems", [&](const json& fss) {
    const json* f = find_by(fss, "path", dev);
    return f && (*f)["fstype"] == "ext4" && (*f)["uuid"] == ext4_uuid;
  }, kUnannouncedBound);
  ASSERT_TRUE(took) << "mkfs.ext4 on " << dev << " not shown within " << kUnannouncedBound.count() << " ms";
  std::printf("[ fresh    ] mkfs.ext4 shown after %lld ms\n", static_cast<long long>(took->count()));

  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", "-L", "FRESHTEST", dev}).ok());
  std::string btrfs_uuid = blkid_probe(dev)["UUID"];
  took = shows_within(c, "storage.list_filesystems", [&](const json& fss) {
    const json* f = find_by(fss, "path", dev);
    return f && (*f)["fstype"] == "btrfs" && (*f)["uuid"] == btrfs_uuid && (*f)["label"] == "FRESHTEST";
  }, kUnannouncedBound);
  ASSERT_TRUE(took) << "mkfs.btrfs on " << dev << " not shown within " << kUnannouncedBound.count() << " ms";
  std::printf("[ fresh    ] mkfs.btrfs shown after %lld ms\n", static_cast<long long>(took->count()));

  // Mount from outside: the mount table change is announced (POLLPRI): the very next query.
  TempDir mnt;
  ASSERT_TRUE(run_tool({"mount", "-t", "btrfs", dev, mnt.path()}).ok());
  MountGuard unmount(mnt.path());
  json mounts = c.call("storage.list_mounts");
  const json* m = find_by(mounts, "target", mnt.path());
  ASSERT_NE(m, nullptr) << "mount at " << mnt.path() << " missing in the next query";
  EXPECT_EQ((*m)["device"], dev);
  EXPECT_EQ((*m)["fstype"], "btrfs");
  json inv = c.call("storage.inventory");
  const json* fs_subvols = find_by(inv["subvolumes"], "mounted_at", mnt.path());
  ASSERT_NE(fs_subvols, nullptr) << inv["subvolumes"].dump();
  EXPECT_EQ((*fs_subvols)["fsid"], btrfs_uuid);
  EXPECT_TRUE(fs_subvols->at("subvolumes").empty());
  EXPECT_EQ(find_by(inv["disks"], "path", dev)->at("mountpoints"), json::array({mnt.path()}));

  // A subvolume made by btrfs-progs: no event at all, the revalidation bound applies.
  ASSERT_TRUE(run_tool({"btrfs", "-q", "subvolume", "create", mnt / "cache"}).ok());
  auto listed = run_tool({"btrfs", "subvolume", "list", mnt.path()});
  ASSERT_NE(listed.out.find("path cache"), std::string::npos) << listed.out;
  took = shows_within(c, "storage.inventory", [&](const json& i) {
    const json* fs = find_by(i["subvolumes"], "mounted_at", mnt.path());
    return fs && fs->at("subvolumes").size() == 1 && fs->at("subvolumes")[0]["path"] == "cache";
  }, kUnannouncedBound);
  ASSERT_TRUE(took) << "subvolume not shown within " << kUnannouncedBound.count() << " ms";
  std::printf("[ fresh    ] btrfs subvolume shown after %lld ms\n", static_cast<long long>(took->count()));

  ASSERT_TRUE(run_tool({"umount", mnt.path()}).ok());
  unmount.release();
  mounts = c.call("storage.list_mounts");
  EXPECT_EQ(find_by(mounts, "target", mnt.path()), nullptr) << "unmount not shown in the next query";
  EXPECT_TRUE(find_by(c.call("storage.list_disks"), "path", dev)->at("mountpoints").empty());

  // Detach: the next query no longer lists the device.
  img->detach();
  EXPECT_EQ(find_by(c.call("storage.list_disks"), "path", dev), nullptr) << dev << " still listed after losetup -d";
}

// The model publishes what changed on the EventBus (topics devices and mounts).
TEST(InventoryFreshness, PublishesDeviceAndMountEvents) {
  MOS_REQUIRE_ROOT();
  auto r = run_sandboxed([]() -> std::string {
    engine::EventBus bus;
    std::mutex mu;
    std::vector<engine::Event> seen;
    bus.subscribe([&](const engine::Event& e) {
      std::lock_guard lock(mu);
      seen.push_back(e);
    });
    engine::InventoryCache cache(&bus);
    LoopImage img(64ull << 20);
    cache.snapshot();  // applies the attach uevent
    std::string out;
    {
      std::lock_guard lock(mu);
      for (const auto& e : seen)
        if (e.topic == "devices" && e.data.value("path", "") == img.dev()) out += e.kind + " ";
    }
    return out;
  });
  ASSERT_TRUE(r.ok) << r.text;
  // A pre-created loop node changes (size 0 -> 64 MiB: it appears in the model as "add").
  EXPECT_NE(r.text.find("add"), std::string::npos) << r.text;
}

// The pre-write path's cheap question "which btrfs fsids exist?", from the model and by scan.
TEST(InventoryFreshness, KnownBtrfsFsidsFromModelAndScan) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256ull << 20);
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", img.dev()}).ok());
  const std::string fsid = blkid_probe(img.dev())["UUID"];
  ASSERT_FALSE(fsid.empty());
  auto r = run_sandboxed([&]() -> std::string {
    engine::Context scan;
    scan.policy = engine::Policy::from_globs(img.dev());  // reads only our device
    std::string out;
    for (const auto& [dev, id] : engine::known_btrfs_fsids(scan)) out += "scan " + dev + " " + id + "\n";
    engine::InventoryCache cache(nullptr, {std::chrono::milliseconds(0), false});
    engine::Context daemon;
    daemon.inventory = &cache;
    for (const auto& [dev, id] : engine::known_btrfs_fsids(daemon))
      if (dev == img.dev()) out += "model " + dev + " " + id + "\n";
    return out;
  });
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "scan " + img.dev() + " " + fsid + "\nmodel " + img.dev() + " " + fsid + "\n");
}

}  // namespace
}  // namespace mos::test
