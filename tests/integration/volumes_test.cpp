// Volumes (engine/volumes) on a btrfs on loop devices, engine under seccomp: the btrfs CLI,
// filefrag, lsattr, sha256sum and losetup judge what the engine did.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "engine/volumes/names.hpp"
#include "engine/volumes/store.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/engine_outcome.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;
namespace vol = mos::engine::volumes;

namespace {

constexpr uint64_t MiB = 1ull << 20;

json to_json(const vol::Volume& v) {
  return {{"name", v.name}, {"kind", vol::kind_name(v.kind)}, {"path", v.path}, {"size", v.size},
          {"created", v.created_unix}, {"origin", v.origin ? json(*v.origin) : json(nullptr)},
          {"snapshot", v.snapshot}, {"exclusive", v.exclusive_bytes ? json(*v.exclusive_bytes) : json(nullptr)},
          {"shared", v.shared_bytes ? json(*v.shared_bytes) : json(nullptr)}};
}

// Runs fn on the store of `mnt`/volumes in the seccomp sandbox; env is set in the child only.
EngineOutcome on_store(const std::string& mnt, const std::function<json(vol::Store&)>& fn,
                       const std::vector<std::pair<std::string, std::string>>& env = {}) {
  return engine_outcome([&] {
    for (auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    vol::Store s = vol::Store::open(mnt, "volumes", loop_only_context(), true);
    return fn(s);
  });
}

EngineOutcome create(const std::string& mnt, const std::string& name, vol::Kind kind, uint64_t size) {
  return on_store(mnt, [&](vol::Store& s) { return to_json(s.create({name, kind, size})); });
}

EngineOutcome list(const std::string& mnt) {
  return on_store(mnt, [](vol::Store& s) {
    json a = json::array();
    for (auto& v : s.list()) a.push_back(to_json(v));
    return a;
  });
}

std::string sha(const std::string& path) { return run_tool({"sha256sum", path}).out.substr(0, 64); }

// Entries of the volumes directory as the kernel lists them, hidden ones included.
std::vector<std::string> entries(const std::string& dir) { return lines_of(run_tool({"ls", "-A", dir}).out); }

// Physical offsets of a file's extents, from filefrag (the e2fsprogs FIEMAP printer).
std::string physical_map(const std::string& path) {
  auto r = run_sh("filefrag -v -b4096 " + path + " | awk '/^ *[0-9]+:/{print $4, $5}'");
  return r.out;
}

}  // namespace

// A block volume is a file of the asked size; asking again with the same parameters answers the
// same volume, a different size is refused and changes nothing.
TEST(Volumes, BlockCreateIsIdempotentAndRefusesOtherParameters) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol1"));
  auto a = create(fs.mnt(), "vm1", vol::Kind::block, 64 * MiB);
  ASSERT_TRUE(a.ok) << a.message;
  const std::string path = fs.mnt() + "/volumes/vm1";
  EXPECT_EQ(a.result["path"], path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 64 * MiB);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The volumes directory is a subvolume (btrfs CLI).
  EXPECT_TRUE(run_tool({"btrfs", "subvolume", "show", fs.mnt() + "/volumes"}).ok());

  auto again = create(fs.mnt(), "vm1", vol::Kind::block, 64 * MiB);
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(again.result["created"], a.result["created"]);
  auto other = create(fs.mnt(), "vm1", vol::Kind::block, 128 * MiB);
  EXPECT_FALSE(other.ok);
  EXPECT_EQ(other.code, -32001) << other.message;
  auto kind = create(fs.mnt(), "vm1", vol::Kind::fs, 0);
  EXPECT_EQ(kind.code, -32001) << kind.message;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 64 * MiB);
  EXPECT_EQ(entries(fs.mnt() + "/volumes"), std::vector<std::string>{"vm1"});

  auto bad_size = create(fs.mnt(), "vm2", vol::Kind::block, 1000);
  EXPECT_EQ(bad_size.code, -32602) << bad_size.message;
  auto l = list(fs.mnt());
  ASSERT_TRUE(l.ok) << l.message;
  ASSERT_EQ(l.result.size(), 1u);
  EXPECT_EQ(l.result[0]["kind"], "block");
}

// A clone shares every extent with its origin (filefrag's physical addresses equal, btrfs
// filesystem du's shared bytes) and diverges on write without touching the origin.
TEST(Volumes, BlockCloneSharesEveryExtentAndDivergesOnWrite) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol2"));
  ASSERT_TRUE(create(fs.mnt(), "base", vol::Kind::block, 64 * MiB).ok);
  const std::string base = fs.mnt() + "/volumes/base", copy = fs.mnt() + "/volumes/copy";
  ASSERT_TRUE(run_sh("dd if=/dev/urandom of=" + base + " bs=1M count=16 conv=notrunc,fsync status=none").ok());
  const std::string base_sum = sha(base);
  auto c = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.clone("base", "copy")); });
  ASSERT_TRUE(c.ok) << c.message;
  EXPECT_EQ(c.result["origin"], "base");
  EXPECT_EQ(c.result["size"], 64 * MiB);
  EXPECT_EQ(c.result["shared"], 16 * MiB) << c.result.dump();
  EXPECT_EQ(c.result["exclusive"], 0u) << c.result.dump();
  EXPECT_EQ(sha(copy), base_sum);
  const std::string map = physical_map(base);
  EXPECT_FALSE(map.empty());
  EXPECT_EQ(physical_map(copy), map);
  auto du = run_tool({"btrfs", "filesystem", "du", "--raw", base, copy});
  ASSERT_TRUE(du.ok()) << du.err;
  EXPECT_NE(du.out.find(std::to_string(16 * MiB)), std::string::npos) << du.out;

  ASSERT_TRUE(run_sh("dd if=/dev/urandom of=" + copy + " bs=1M count=1 seek=4 conv=notrunc,fsync status=none").ok());
  EXPECT_EQ(sha(base), base_sum);
  EXPECT_NE(sha(copy), base_sum);
  auto shown = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.show("copy")); });
  ASSERT_TRUE(shown.ok) << shown.message;
  EXPECT_EQ(shown.result["exclusive"], 1 * MiB) << shown.result.dump();
  EXPECT_EQ(shown.result["shared"], 15 * MiB) << shown.result.dump();
}

// An image made nodatacow (chattr +C while empty) clones too: btrfs refuses FICLONE between a
// nodatacow file and a normal one (EINVAL), so the copy takes the origin's flag (lsattr: 'C').
TEST(Volumes, CloneOfANodatacowImage) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("volnc"));
  ASSERT_TRUE(create(fs.mnt(), "placeholder", vol::Kind::block, 4 * MiB).ok);  // makes the volumes subvolume
  const std::string base = fs.mnt() + "/volumes/base";
  // A nodatacow image as an admin would make one: the flag on the empty file, then the data and
  // the volume metadata.
  ASSERT_TRUE(run_sh("touch " + base + " && chattr +C " + base + " && dd if=/dev/urandom of=" + base +
                     " bs=1M count=8 conv=fsync status=none").ok());
  const std::string meta = R"({"v":1,"kind":"block","size":0,"created":1,"origin":null,"snapshot":false})";
  ASSERT_EQ(::setxattr(base.c_str(), "user.mos.volume", meta.data(), meta.size(), 0), 0);
  auto c = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.clone("base", "copy")); });
  ASSERT_TRUE(c.ok) << c.message;
  EXPECT_EQ(c.result["shared"], 8 * MiB) << c.result.dump();
  const std::string copy = fs.mnt() + "/volumes/copy";
  EXPECT_EQ(sha(copy), sha(base));
  EXPECT_EQ(physical_map(copy), physical_map(base));
  const std::string attrs = run_tool({"lsattr", copy}).out;
  EXPECT_NE(attrs.substr(0, attrs.find(' ')).find('C'), std::string::npos) << attrs;
}

// fs volumes: a subvolume; its clone is a writable snapshot holding the files, its snapshot is
// read-only (btrfs property), a block snapshot is immutable (lsattr).
TEST(Volumes, FsCloneAndSnapshotsOfBothKinds) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol3"));
  ASSERT_TRUE(create(fs.mnt(), "ct", vol::Kind::fs, 0).ok);
  const std::string v = fs.mnt() + "/volumes/";
  ASSERT_TRUE(write_random(v + "ct/data", 3 * MiB, true).ok());
  const std::string sum = sha(v + "ct/data");
  auto r = on_store(fs.mnt(), [](vol::Store& s) {
    return json::array({to_json(s.clone("ct", "ct2")), to_json(s.snapshot("ct", "ct-snap"))});
  });
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(sha(v + "ct2/data"), sum);
  EXPECT_EQ(sha(v + "ct-snap/data"), sum);
  EXPECT_NE(run_tool({"btrfs", "property", "get", v + "ct-snap", "ro"}).out.find("ro=true"), std::string::npos);
  EXPECT_NE(run_tool({"btrfs", "property", "get", v + "ct2", "ro"}).out.find("ro=false"), std::string::npos);
  EXPECT_TRUE(run_sh("echo x > " + v + "ct2/new").ok());
  EXPECT_FALSE(run_sh("echo x > " + v + "ct-snap/new 2>/dev/null").ok());

  ASSERT_TRUE(create(fs.mnt(), "img", vol::Kind::block, 8 * MiB).ok);
  auto s = on_store(fs.mnt(), [](vol::Store& st) { return to_json(st.snapshot("img", "img-snap")); });
  ASSERT_TRUE(s.ok) << s.message;
  EXPECT_EQ(s.result["snapshot"], true);
  auto attrs = run_tool({"lsattr", v + "img-snap"});
  EXPECT_EQ(attrs.out.substr(0, attrs.out.find(' ')).find('i'), 4u) << attrs.out;  // ----i--------
  auto l = list(fs.mnt());
  ASSERT_TRUE(l.ok) << l.message;
  EXPECT_EQ(l.result.size(), 5u) << l.result.dump();
  // A snapshot is removable like any volume (the immutable flag is lifted by remove).
  auto rm = on_store(fs.mnt(), [](vol::Store& st) {
    return json::array({to_json(st.remove("img-snap")), to_json(st.remove("ct-snap"))});
  });
  ASSERT_TRUE(rm.ok) << rm.message;
  EXPECT_FALSE(std::filesystem::exists(v + "img-snap"));
  EXPECT_EQ(run_tool({"btrfs", "subvolume", "list", fs.mnt()}).out.find("ct-snap"), std::string::npos);
}

// Remove is refused while a loop device is backed by the image (attached by another path: a bind
// mount) or while something is mounted in an fs volume; the volume is byte-unchanged. Then it goes.
TEST(Volumes, RemoveRefusedWhileAttachedOrMounted) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol4"));
  ASSERT_TRUE(create(fs.mnt(), "disk", vol::Kind::block, 32 * MiB).ok);
  ASSERT_TRUE(create(fs.mnt(), "root", vol::Kind::fs, 0).ok);
  const std::string disk = fs.mnt() + "/volumes/disk";
  ASSERT_TRUE(run_sh("dd if=/dev/urandom of=" + disk + " bs=1M count=2 conv=notrunc,fsync status=none").ok());
  const std::string before = sha(disk);
  const std::string bind = fs.dir() / "bind";
  ASSERT_TRUE(run_tool({"mkdir", "-p", bind}).ok());
  ASSERT_TRUE(run_tool({"mount", "--bind", fs.mnt(), bind}).ok());
  MountGuard bind_guard(bind);
  auto loop = run_tool({"losetup", "--find", "--show", bind + "/volumes/disk"});
  ASSERT_TRUE(loop.ok()) << loop.err;
  const std::string dev = trim(loop.out);
  auto refused = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.remove("disk")); });
  run_tool({"losetup", "-d", dev});
  EXPECT_EQ(refused.code, -32001) << refused.message;
  EXPECT_NE(refused.message.find(dev), std::string::npos) << refused.message;
  EXPECT_EQ(sha(disk), before);

  const std::string inner = fs.mnt() + "/volumes/root/proc-like";
  ASSERT_TRUE(run_tool({"mkdir", "-p", inner}).ok());
  ASSERT_TRUE(run_tool({"mount", "-t", "tmpfs", "none", inner}).ok());
  {
    MountGuard g(inner);
    auto busy = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.remove("root")); });
    EXPECT_EQ(busy.code, -32001) << busy.message;
    EXPECT_TRUE(std::filesystem::exists(inner));
  }
  auto gone = on_store(fs.mnt(), [](vol::Store& s) {
    return json::array({to_json(s.remove("disk")), to_json(s.remove("root"))});
  });
  ASSERT_TRUE(gone.ok) << gone.message;
  EXPECT_TRUE(entries(fs.mnt() + "/volumes").empty());
}

// No name reaches outside the volumes directory, and a link planted in it is not followed.
TEST(Volumes, NamesCannotAddressAnythingElse) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol5"));
  for (const std::string& name : std::vector<std::string>{"", ".", "..", "../x", "a/b", ".hidden", std::string(65, 'a'), "a\nb"}) {
    auto r = create(fs.mnt(), name, vol::Kind::block, MiB);
    EXPECT_EQ(r.code, -32602) << "'" << name << "': " << r.message;
  }
  const std::string outside = fs.dir() / "outside";
  ASSERT_TRUE(run_sh("head -c 4096 /dev/urandom > " + outside).ok());
  const std::string before = sha(outside);
  ASSERT_TRUE(create(fs.mnt(), "real", vol::Kind::block, MiB).ok);
  ASSERT_EQ(::symlink(outside.c_str(), (fs.mnt() + "/volumes/evil").c_str()), 0);
  auto rm = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.remove("evil")); });
  EXPECT_EQ(rm.code, -32001) << rm.message;
  auto cl = on_store(fs.mnt(), [](vol::Store& s) { return to_json(s.clone("evil", "copy")); });
  EXPECT_EQ(cl.code, -32001) << cl.message;
  auto l = list(fs.mnt());
  ASSERT_TRUE(l.ok) << l.message;
  ASSERT_EQ(l.result.size(), 1u) << l.result.dump();
  EXPECT_EQ(sha(outside), before);
  EXPECT_TRUE(std::filesystem::exists(outside));
}

// A crash (abort, no unwinding) at each step of create, clone and remove leaves either no volume
// or a complete one in list(), and sweep_incomplete() removes what was left in progress.
TEST(Volumes, CrashAtEachStepLeavesNoVolumeOrACompleteOne) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vol6"));
  ASSERT_TRUE(create(fs.mnt(), "origin", vol::Kind::block, 8 * MiB).ok);
  ASSERT_TRUE(create(fs.mnt(), "tree", vol::Kind::fs, 0).ok);
  struct Case {
    std::string point;
    std::function<json(vol::Store&)> op;
    std::string name;
    bool exists_after;  // the volume is complete in list() after the crash
  };
  std::vector<Case> cases = {
      {"volume:after-size", [](vol::Store& s) { return to_json(s.create({"b1", vol::Kind::block, 4 * MiB})); }, "b1", false},
      {"volume:before-publish", [](vol::Store& s) { return to_json(s.create({"b2", vol::Kind::block, 4 * MiB})); }, "b2", false},
      {"volume:after-subvolume", [](vol::Store& s) { return to_json(s.create({"f1", vol::Kind::fs, 0})); }, "f1", false},
      {"volume:after-clone", [](vol::Store& s) { return to_json(s.clone("origin", "c1")); }, "c1", false},
      {"volume:after-clone", [](vol::Store& s) { return to_json(s.snapshot("tree", "s1")); }, "s1", false},
      {"volume:after-unpublish", [](vol::Store& s) { return to_json(s.remove("origin")); }, "origin", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.point + " " + c.name);
    auto crashed = on_store(fs.mnt(), c.op, {{"MOS_VOLMGR_CRASH_POINT", c.point}, {"MOS_VOLMGR_CRASH_ABORT", "1"}});
    EXPECT_FALSE(crashed.ok);
    EXPECT_NE(crashed.message.find("signal 6"), std::string::npos) << "the crash point did not fire: " << crashed.message;
    auto l = list(fs.mnt());
    ASSERT_TRUE(l.ok) << l.message;
    bool listed = false;
    for (auto& v : l.result) listed |= v["name"] == c.name;
    EXPECT_EQ(listed, c.exists_after) << l.result.dump();
  }
  // What was in progress is on disk, hidden; the sweep removes all of it.
  size_t hidden = 0;
  for (auto& e : entries(fs.mnt() + "/volumes")) hidden += e.rfind(vol::kInProgressPrefix, 0) == 0;
  EXPECT_EQ(hidden, cases.size());
  auto swept = on_store(fs.mnt(), [](vol::Store& s) { return json(s.sweep_incomplete()); });
  ASSERT_TRUE(swept.ok) << swept.message;
  EXPECT_EQ(swept.result, cases.size());
  EXPECT_EQ(entries(fs.mnt() + "/volumes"), std::vector<std::string>{"tree"});
  EXPECT_EQ(run_tool({"btrfs", "subvolume", "list", fs.mnt()}).out.find(vol::kInProgressPrefix), std::string::npos);
}
