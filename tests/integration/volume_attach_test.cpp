// Block volumes attached as loop devices (engine/volumes/attach), engine under seccomp: our ext4
// writer inside an attached volume, e2fsck, the kernel mounting it, blockdev and resize2fs judge.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "engine/format/format.hpp"
#include "engine/volumes/attach.hpp"
#include "ioctl/loop.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/engine_outcome.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;
namespace vol = mos::engine::volumes;

namespace {

constexpr uint64_t MiB = 1ull << 20;

// A btrfs with a volumes store, a run dir of its own, and every loop device a test attached
// detached at the end whatever happened.
class VolumeBed {
 public:
  explicit VolumeBed(const std::string& tag) : fs_(1, 1ull << 30, {}, unique_label(tag)) {}
  ~VolumeBed() {
    for (const auto& line : lines_of(run_tool({"losetup", "-a"}).out))
      if (line.find(fs_.mnt() + "/volumes/") != std::string::npos) {
        try { mos::io::loop_detach(line.substr(0, line.find(':'))); } catch (...) {}
      }
  }
  const std::string& mnt() const { return fs_.mnt(); }
  std::string run_dir() const { return fs_.dir() / "run"; }
  std::string path(const std::string& name) const { return fs_.mnt() + "/volumes/" + name; }

  mos::engine::Context ctx() const {
    mos::engine::Context c = loop_only_context();
    c.run_dir = run_dir();
    return c;
  }
  EngineOutcome on(const std::function<json(vol::Store&, const mos::engine::Context&)>& fn) const {
    return engine_outcome([&] {
      mos::engine::Context c = ctx();
      vol::Store s = vol::Store::open(fs_.mnt(), "volumes", c, true);
      return fn(s, c);
    });
  }
  EngineOutcome create(const std::string& name, uint64_t size) const {
    return on([&](vol::Store& s, const mos::engine::Context&) { return json(s.create({name, vol::Kind::block, size}).path); });
  }
  EngineOutcome attach(const std::string& name, bool read_only = false) const {
    return on([&](vol::Store& s, const mos::engine::Context& c) {
      auto a = vol::attach(s, name, read_only, true, c);
      return json{{"device", a.device}, {"link", a.link}, {"read_only", a.read_only}, {"direct_io", a.direct_io},
                  {"already", a.already}};
    });
  }
  EngineOutcome detach(const std::string& name) const {
    return on([&](vol::Store& s, const mos::engine::Context& c) {
      auto d = vol::detach(s, name, c);
      return json{{"device", d.device}, {"deferred", d.deferred}};
    });
  }
  EngineOutcome resize(const std::string& name, uint64_t size, bool force = false) const {
    return on([&](vol::Store& s, const mos::engine::Context&) { return json(vol::resize(s, name, size, force).size); });
  }
  EngineOutcome shown_attached(const std::string& name) const {
    return on([&](vol::Store& s, const mos::engine::Context&) {
      auto v = s.show(name);
      return v.attached ? json(*v.attached) : json(nullptr);
    });
  }

 private:
  BtrfsOnLoops fs_;
};

EngineOutcome make_ext4(const std::string& dev) {
  mos::engine::FormatRequest r;
  r.device = dev;
  r.fstype = "ext4";
  r.label = "inside";
  return engine_outcome([&] { return json(mos::engine::create_filesystem(r, loop_only_context())); });
}

bool loop_backed(const std::string& dev) {
  return std::filesystem::exists("/sys/block/" + dev.substr(dev.rfind('/') + 1) + "/loop/backing_file");
}

}  // namespace

// Our ext4 writer inside an attached volume: e2fsck is clean, the kernel mounts it and keeps data
// across a detach and a new attachment. Attach is idempotent and found again by a new store (a
// restarted daemon), and the stable link names the device.
TEST(VolumeAttach, Ext4InsideAnAttachedVolumeMountsAndHoldsData) {
  MOS_REQUIRE_ROOT();
  VolumeBed bed("att1");
  ASSERT_TRUE(bed.create("vm", 256 * MiB).ok);
  auto a = bed.attach("vm");
  ASSERT_TRUE(a.ok) << a.message;
  const std::string dev = a.result["device"];
  EXPECT_EQ(dev.rfind("/dev/loop", 0), 0u) << dev;
  EXPECT_EQ(std::filesystem::read_symlink(bed.run_dir() + "/volumes/vm").string(), dev);
  EXPECT_EQ(trim(run_tool({"blockdev", "--getsize64", dev}).out), std::to_string(256 * MiB));
  auto f = make_ext4(dev);
  ASSERT_TRUE(f.ok) << f.message;
  EXPECT_TRUE(run_tool({"e2fsck", "-fn", dev}).ok());
  TempDir mnt;
  ASSERT_TRUE(run_tool({"mount", "-t", "ext4", dev, mnt.path()}).ok());
  {
    MountGuard g(mnt.path());
    ASSERT_TRUE(write_random(mnt / "data", 5 * MiB, true).ok());
    // Mounted: detach is refused, with where.
    auto busy = bed.detach("vm");
    EXPECT_EQ(busy.code, -32001) << busy.message;
    EXPECT_NE(busy.message.find(mnt.path()), std::string::npos) << busy.message;
  }
  auto again = bed.attach("vm");
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.result["device"], dev);
  EXPECT_TRUE(again.result["already"].get<bool>());
  auto other_mode = bed.attach("vm", true);
  EXPECT_EQ(other_mode.code, -32001) << other_mode.message;
  auto found = bed.shown_attached("vm");
  ASSERT_TRUE(found.ok) << found.message;
  EXPECT_EQ(found.result, dev);

  auto d = bed.detach("vm");
  ASSERT_TRUE(d.ok) << d.message;
  EXPECT_FALSE(d.result["deferred"].get<bool>());
  EXPECT_FALSE(loop_backed(dev));
  EXPECT_FALSE(std::filesystem::exists(bed.run_dir() + "/volumes/vm"));
  EXPECT_EQ(bed.detach("vm").code, -32001);
  // The filesystem is in the image itself: attached again (read-only), it checks clean.
  auto ro = bed.attach("vm", true);
  ASSERT_TRUE(ro.ok) << ro.message;
  EXPECT_TRUE(ro.result["read_only"].get<bool>());
  EXPECT_TRUE(run_tool({"e2fsck", "-fn", ro.result["device"]}).ok());
  EXPECT_TRUE(bed.detach("vm").ok);
}

// Growing an attached volume is seen by the kernel (blockdev) and lets resize2fs grow the ext4 in
// it; shrinking needs force and changes nothing without it.
TEST(VolumeAttach, ResizeOfAnAttachedVolumeReachesTheKernelAndTheFilesystem) {
  MOS_REQUIRE_ROOT();
  VolumeBed bed("att2");
  ASSERT_TRUE(bed.create("disk", 128 * MiB).ok);
  auto a = bed.attach("disk");
  ASSERT_TRUE(a.ok) << a.message;
  const std::string dev = a.result["device"];
  ASSERT_TRUE(make_ext4(dev).ok);
  auto grown = bed.resize("disk", 320 * MiB);
  ASSERT_TRUE(grown.ok) << grown.message;
  EXPECT_EQ(grown.result, 320 * MiB);
  EXPECT_EQ(trim(run_tool({"blockdev", "--getsize64", dev}).out), std::to_string(320 * MiB));
  auto r2fs = run_tool({"resize2fs", dev});
  EXPECT_TRUE(r2fs.ok()) << r2fs.err;
  EXPECT_TRUE(run_tool({"e2fsck", "-fn", dev}).ok());
  auto blocks = run_sh("dumpe2fs -h " + dev + " 2>/dev/null | sed -n 's/^Block count: *//p'");
  EXPECT_GT(std::stoull(trim(blocks.out)) * 4096, 300 * MiB) << blocks.out;

  auto shrink = bed.resize("disk", 64 * MiB);
  EXPECT_EQ(shrink.code, -32001) << shrink.message;
  struct stat st {};
  ASSERT_EQ(::stat(bed.path("disk").c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 320 * MiB);
  EXPECT_EQ(bed.resize("disk", 1000).code, -32602);
  EXPECT_TRUE(bed.detach("disk").ok);
}
