// Subvolumes and quota against a real btrfs; `btrfs subvolume list` and `btrfs qgroup show`
// are the oracles. Includes the default-label (MOSDATA) lookup with a private top-level mount.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "engine/btrfs/json.hpp"
#include "engine/btrfs/quota.hpp"
#include "engine/btrfs/subvolumes.hpp"
#include "ioctl/mountinfo.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
namespace bt = mos::engine::btrfs;
using nlohmann::json;

namespace {

struct CliSubvol {
  uint64_t id;
  uint64_t top_level;
  std::string path;
};

std::map<uint64_t, CliSubvol> cli_subvolumes(const std::string& mnt) {
  auto r = run_tool({"btrfs", "subvolume", "list", mnt});
  EXPECT_TRUE(r.ok()) << r.err;
  std::map<uint64_t, CliSubvol> out;
  std::regex re(R"(ID (\d+) gen \d+ top level (\d+) path (.+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) out[std::stoull(m[1])] = {std::stoull(m[1]), std::stoull(m[2]), m[3]};
  }
  return out;
}

bool mounted_at(const std::string& path) {
  for (auto& e : mos::io::read_mountinfo())
    if (e.mount_point == path) return true;
  return false;
}

}  // namespace

TEST(BtrfsMgmtSubvolumes, CreateSnapshotListDeleteMatchCli) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("subvol"));
  std::string mnt = fs.mnt();

  auto out = sandboxed([&] {
    json j;
    j["a"] = bt::create_subvolume("apps", mnt, kAllowAll);
    j["b"] = bt::create_subvolume("vm-meta", mnt, kAllowAll);
    j["snap"] = bt::snapshot_subvolume("apps", "apps-snap", mnt, kAllowAll);
    return j.dump();
  });
  json made = ok_json(out);
  ASSERT_FALSE(made.is_null());
  EXPECT_EQ(made["a"]["path"], "apps");
  EXPECT_EQ(made["a"]["read_only"], false);
  EXPECT_EQ(made["snap"]["read_only"], true);
  EXPECT_EQ(made["snap"]["parent_uuid"], made["a"]["uuid"]);

  // A nested subvolume made with the CLI shows up with its full path.
  ASSERT_TRUE(run_tool({"btrfs", "subvolume", "create", mnt + "/apps/inner"}).ok());
  // The snapshot is read-only for the kernel too.
  EXPECT_FALSE(run_sh("touch " + mnt + "/apps-snap/x 2>/dev/null").ok());
  auto prop = run_tool({"btrfs", "property", "get", "-ts", mnt + "/apps-snap", "ro"});
  EXPECT_NE(prop.out.find("ro=true"), std::string::npos) << prop.out;

  json list = ok_json(sandboxed([&] { return json(bt::list_subvolumes(mnt, kAllowAll)).dump(); }));
  ASSERT_FALSE(list.is_null());
  auto cli = cli_subvolumes(mnt);
  ASSERT_EQ(list["subvolumes"].size(), cli.size());
  ASSERT_EQ(cli.size(), 4u);
  for (auto& s : list["subvolumes"]) {
    uint64_t id = s["id"];
    ASSERT_TRUE(cli.count(id)) << s.dump();
    EXPECT_EQ(s["path"], cli[id].path);
    EXPECT_EQ(s["parent_id"], cli[id].top_level);
  }

  // Delete: a normal subvolume goes, a core one is refused and stays.
  json del = ok_json(sandboxed([&] { return json(bt::delete_subvolume("apps-snap", mnt, kAllowAll)).dump(); }));
  EXPECT_EQ(del["path"], "apps-snap");
  std::string refused = sandboxed([&] { return json(bt::delete_subvolume("vm-meta", mnt, kAllowAll)).dump(); });
  EXPECT_EQ(err_code(refused), -32001) << refused;
  EXPECT_NE(refused.find("core subvolume"), std::string::npos) << refused;
  auto after = cli_subvolumes(mnt);
  EXPECT_EQ(after.size(), 3u);
  for (auto& [id, s] : after) EXPECT_NE(s.path, "apps-snap");
  bool has_vm_meta = false;
  for (auto& [id, s] : after) has_vm_meta |= s.path == "vm-meta";
  EXPECT_TRUE(has_vm_meta);
}

TEST(BtrfsMgmtSubvolumes, BadNamesAreRefusedAndNothingChanges) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("names"));
  std::string mnt = fs.mnt();
  ASSERT_TRUE(run_tool({"mkdir", mnt + "/plain-dir"}).ok());
  auto before = run_sh("ls -a " + mnt + " " + fs.dir().path()).out;

  for (std::string bad : std::vector<std::string>{"..", ".", "../escape", "a/b", "", std::string(256, 'x'), "-rf", "sp ace", "semi;colon"}) {
    std::string out = sandboxed([&] { return json(bt::create_subvolume(bad, mnt, kAllowAll)).dump(); });
    EXPECT_EQ(err_code(out), -32001) << "'" << bad << "' -> " << out;
    out = sandboxed([&] { return json(bt::snapshot_subvolume("plain-dir", bad, mnt, kAllowAll)).dump(); });
    EXPECT_EQ(err_code(out), -32001) << out;
    out = sandboxed([&] { return json(bt::delete_subvolume(bad, mnt, kAllowAll)).dump(); });
    EXPECT_EQ(err_code(out), -32001) << out;
  }
  // Missing subvolume, plain directory, existing target.
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::delete_subvolume("nope", mnt, kAllowAll)).dump(); })), -32002);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::delete_subvolume("plain-dir", mnt, kAllowAll)).dump();
            })),
            -32001);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::snapshot_subvolume("nope", "s", mnt, kAllowAll)).dump();
            })),
            -32002);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::create_subvolume("plain-dir", mnt, kAllowAll)).dump();
            })),
            -32001);
  // A filesystem that is not btrfs, and a label nobody has.
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::create_subvolume("x", fs.dir().path(), kAllowAll)).dump();
            })),
            -32001);
  const mos::engine::Context only_ours = fs.only_ours(fs.dir().path());
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::create_subvolume("x", unique_label("absent"), only_ours)).dump();
            })),
            -32002);

  EXPECT_EQ(run_sh("ls -a " + mnt + " " + fs.dir().path()).out, before);
  EXPECT_TRUE(cli_subvolumes(mnt).empty());
}

TEST(BtrfsMgmtSubvolumes, DefaultLabelMountsTopLevelPrivately) {
  MOS_REQUIRE_ROOT();
  // Label MOSDATA; only our own loop device may be found (other tests may use the label too).
  BtrfsOnLoops fs(1, 1ull << 30, {}, bt::kDefaultLabel, /*mount_it=*/false);
  TempDir run;
  const mos::engine::Context opts = fs.only_ours(run.path());

  json made = ok_json(sandboxed([&] {
    json j;
    j["create"] = bt::create_subvolume("system", std::nullopt, opts);
    return j.dump();
  }));
  ASSERT_FALSE(made.is_null());
  std::string fsid = run_tool({"blkid", "-o", "value", "-s", "UUID", fs.dev(0)}).out;
  while (!fsid.empty() && fsid.back() == '\n') fsid.pop_back();
  // The private mount is gone again, and the subvolume is really on the device.
  EXPECT_FALSE(mounted_at(run.path() + "/mnt/" + fsid));
  // A query never mounts (issue 19): the unmounted filesystem answers "not mounted".
  std::string listed = sandboxed([&] { return json(bt::list_subvolumes(std::nullopt, opts)).dump(); });
  EXPECT_EQ(err_code(listed), -32001) << listed;
  EXPECT_NE(listed.find("not mounted"), std::string::npos) << listed;
  EXPECT_FALSE(mounted_at(run.path() + "/mnt/" + fsid));
  fs.mount();
  auto cli = cli_subvolumes(fs.mnt());
  ASSERT_EQ(cli.size(), 1u);
  EXPECT_EQ(cli.begin()->second.path, "system");
  EXPECT_EQ(cli.begin()->first, made["create"]["id"]);

  // Mounted from a subvolume only: a change mounts the top level privately; a query reads
  // through the subvolume's mount.
  fs.unmount();
  ASSERT_TRUE(run_tool({"mount", "-o", "subvol=system", fs.dev(0), fs.mnt()}).ok());
  MountGuard sub_guard(fs.mnt());
  json second = ok_json(sandboxed([&] {
    json j;
    j["create"] = bt::create_subvolume("etc", fs.mnt(), opts);
    j["list"] = bt::list_subvolumes(fs.mnt(), opts);
    return j.dump();
  }));
  EXPECT_EQ(second["list"]["top_level_path"], "");
  EXPECT_EQ(second["list"]["subvolumes"].size(), 2u);
  EXPECT_FALSE(mounted_at(run.path() + "/mnt/" + fsid));
  // Not created inside the mounted subvolume but at the top level.
  EXPECT_FALSE(run_tool({"test", "-e", fs.mnt() + "/etc"}).ok());
}

TEST(BtrfsMgmtQuota, SetQuotaMatchesQgroupShow) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("quota"));
  std::string mnt = fs.mnt();
  ASSERT_TRUE(run_tool({"btrfs", "subvolume", "create", mnt + "/data"}).ok());
  ASSERT_TRUE(write_random(mnt + "/data/f", 3000000, true).ok());

  json q = ok_json(sandboxed([&] { return json(bt::set_quota("data", 200ull << 20, mnt, kAllowAll)).dump(); }));
  ASSERT_FALSE(q.is_null());
  EXPECT_EQ(q["quota_enabled_now"], true);
  EXPECT_EQ(q["max_referenced_bytes"], 200ull << 20);
  // Changing the limit on an already enabled quota.
  q = ok_json(sandboxed([&] { return json(bt::set_quota("data", 100ull << 20, mnt, kAllowAll)).dump(); }));
  EXPECT_EQ(q["quota_enabled_now"], false);

  run_tool({"btrfs", "filesystem", "sync", mnt});
  auto r = run_tool({"btrfs", "qgroup", "show", "-re", "--raw", mnt});
  ASSERT_TRUE(r.ok()) << r.err;
  std::string qgroupid = q["qgroupid"];
  bool found = false;
  for (auto& l : lines_of(r.out)) {
    std::istringstream in(l);
    std::string id, rfer, excl, max_rfer, max_excl;
    in >> id >> rfer >> excl >> max_rfer >> max_excl;
    if (id != qgroupid) continue;
    found = true;
    EXPECT_EQ(max_rfer, std::to_string(100ull << 20)) << l;
    EXPECT_EQ(max_excl, "none") << l;
    EXPECT_EQ(rfer, std::to_string(q["referenced_bytes"].get<uint64_t>())) << l;
    EXPECT_EQ(excl, std::to_string(q["exclusive_bytes"].get<uint64_t>())) << l;
    EXPECT_GE(std::stoull(rfer), 3000000u);
  }
  EXPECT_TRUE(found) << r.out;
  // The kernel enforces it: writing past the limit fails.
  EXPECT_FALSE(run_sh("head -c 150000000 /dev/zero > " + mnt + "/data/big 2>/dev/null && sync").ok());
}

TEST(BtrfsMgmtQuota, QuotaOnNonBtrfsOrMissingSubvolumeIsRefused) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("quota-bad"));
  TempDir plain;
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::set_quota("data", 1 << 20, plain.path(), kAllowAll)).dump();
            })),
            -32001);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::set_quota("data", 1 << 20, fs.mnt(), kAllowAll)).dump();
            })),
            -32002);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::set_quota("../x", 1 << 20, fs.mnt(), kAllowAll)).dump();
            })),
            -32001);
  // Quota was never switched on.
  auto r = run_tool({"btrfs", "qgroup", "show", fs.mnt()});
  EXPECT_FALSE(r.ok()) << r.out;
}
