// dry_run of every volume change through the daemon (sandboxed, execve denied): the volumes
// directory (entries, times, xattrs, flags, contents), the subvolumes, the quota state, the loop
// devices and the stable links are byte-identical after it, and a bad call is refused exactly as
// the real call refuses it (code and message).
#include <gtest/gtest.h>

#include <sys/xattr.h>

#include <cstring>
#include <filesystem>

#include "rpc/client.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/integration/volumes_support.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;

namespace {

constexpr uint64_t MiB = 1ull << 20;

// Every extended attribute under dir (the volumes' metadata), name and value.
std::string xattrs_under(const std::string& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
    const std::string p = e.path();
    char names[4096];
    const ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(std::strlen(names + i)) + 1) {
      char value[4096];
      const ssize_t v = ::lgetxattr(p.c_str(), names + i, value, sizeof value);
      out += p + " " + (names + i) + "=" + (v >= 0 ? std::string(value, static_cast<size_t>(v)) : "?") + "\n";
    }
  }
  return out;
}

// Everything a dry run must leave as it is, as the tools (and the kernel's xattrs) say. Not the
// subvolumes' generations: the test's own reads dirty atimes that a periodic commit writes.
std::string state_of(const BtrfsOnLoops& fs) {
  const std::string m = fs.mnt();
  return xattrs_under(m) + run_sh("cd " + m + " && ls -laR --full-time . ; lsattr -R . 2>&1; "
                "find . -type f -exec sha256sum {} + ; btrfs subvolume list . | awk '{print $2, $NF}'; btrfs qgroup show --raw . 2>&1; "
                "losetup -a | grep " + m + "; ls -la --full-time " + std::string(fs.dir() / "run") + "/volumes 2>&1")
      .out;
}

json dry(json params) {
  params["dry_run"] = true;
  return params;
}

// The dry run refuses like the real call, which refuses too.
void expect_same_refusal(mos::rpc::Client& c, const std::string& method, const json& params) {
  auto would = rpc_error(c, method, dry(params));
  auto real = rpc_error(c, method, params);
  EXPECT_NE(real.first, 0) << method << " " << params;
  EXPECT_EQ(would, real) << method << " " << params;
}

}  // namespace

// Every change of every kind as a dry run on a real volumes directory (with an attachment and a
// snapshot), then the bad cases dry and real; the CLI's --dry-run on top.
TEST(VolumesDryRun, EveryChangeWritesNothingAndRefusesAsTheRealCall) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("voldry"));
  DetachLoopsUnder cleanup{fs.mnt() + "/volumes/"};
  auto d = volume_daemon(fs);
  ASSERT_TRUE(d->ready());
  mos::rpc::Client c(d->socket());
  const std::string vols = fs.mnt() + "/volumes";

  // Before the first change the volumes subvolume does not exist: a dry run does not make it.
  json first = c.call("storage.volume_create", dry({{"name", "vm1"}, {"kind", "block"}, {"size", 16 * MiB}}));
  EXPECT_EQ(first["dry_run"], true);
  EXPECT_EQ(first["path"], vols + "/vm1");
  ASSERT_FALSE(first["actions"].empty());
  EXPECT_NE(first["actions"][0].get<std::string>().find("create the volumes subvolume"), std::string::npos) << first;
  EXPECT_FALSE(std::filesystem::exists(vols));
  expect_same_refusal(c, "storage.volume_clone", {{"origin", "nope"}, {"name", "x"}});

  c.call("storage.volume_create", {{"name", "vm1"}, {"kind", "block"}, {"size", 16 * MiB}});
  ASSERT_TRUE(run_sh("dd if=/dev/urandom of=" + vols + "/vm1 bs=1M count=4 conv=notrunc,fsync status=none").ok());
  c.call("storage.volume_create", {{"name", "vm2"}, {"kind", "block"}, {"size", 8 * MiB}});
  const std::string dev = c.call("storage.volume_attach", {{"name", "vm2"}})["device"];
  c.call("storage.volume_create", {{"name", "ct"}, {"kind", "fs"}});
  c.call("storage.volume_snapshot", {{"origin", "vm1"}, {"name", "snap1"}});
  const std::string before = state_of(fs);

  const std::vector<std::pair<std::string, json>> would_succeed = {
      {"storage.volume_create", {{"name", "new"}, {"kind", "block"}, {"size", 16 * MiB}}},
      {"storage.volume_create", {{"name", "newfs"}, {"kind", "fs"}, {"limit", 8 * MiB}}},
      {"storage.volume_create", {{"name", "vm1"}, {"kind", "block"}, {"size", 16 * MiB}}},
      {"storage.volume_clone", {{"origin", "vm1"}, {"name", "vm3"}}},
      {"storage.volume_snapshot", {{"origin", "ct"}, {"name", "ctsnap"}}},
      {"storage.volume_resize", {{"name", "vm1"}, {"size", 32 * MiB}}},
      {"storage.volume_resize", {{"name", "vm2"}, {"size", 16 * MiB}}},
      {"storage.volume_resize", {{"name", "ct"}, {"size", 8 * MiB}}},
      {"storage.volume_attach", {{"name", "vm1"}}},
      {"storage.volume_attach", {{"name", "vm2"}}},
      {"storage.volume_detach", {{"name", "vm2"}}},
      {"storage.volume_delete", {{"name", "vm1"}}},
      {"storage.volume_delete", {{"name", "snap1"}}},
      {"storage.volume_delete", {{"name", "ct"}}}};
  for (const auto& [method, params] : would_succeed) {
    json r = c.call(method, dry(params));
    EXPECT_EQ(r["dry_run"], true) << method << " " << params;
    EXPECT_FALSE(r["actions"].empty()) << method << " " << r;
    EXPECT_EQ(state_of(fs), before) << method << " " << params << " wrote something";
  }
  EXPECT_EQ(c.call("storage.volume_create", dry({{"name", "newfs"}, {"kind", "fs"}, {"limit", 8 * MiB}}))["limit_mode"],
            "simple");  // what enabling quota would pick on this kernel
  json limited = c.call("storage.volume_resize", dry({{"name", "ct"}, {"size", 8 * MiB}}));
  EXPECT_EQ(limited["limit"], 8 * MiB) << limited;
  EXPECT_EQ(limited["limit_mode"], "simple") << limited;
  EXPECT_EQ(c.call("storage.volume_attach", dry({{"name", "vm1"}}))["device"], nullptr);
  EXPECT_EQ(c.call("storage.volume_detach", dry({{"name", "vm2"}}))["device"], dev);

  expect_same_refusal(c, "storage.volume_delete", {{"name", "vm2"}});  // attached
  expect_same_refusal(c, "storage.volume_create", {{"name", "vm1"}, {"kind", "block"}, {"size", 32 * MiB}});
  expect_same_refusal(c, "storage.volume_create", {{"name", "x"}, {"kind", "block"}, {"size", MiB}, {"limit", MiB}});
  expect_same_refusal(c, "storage.volume_create", {{"name", "../x"}, {"kind", "fs"}});
  expect_same_refusal(c, "storage.volume_clone", {{"origin", "vm1"}, {"name", "vm2"}});
  expect_same_refusal(c, "storage.volume_snapshot", {{"origin", "gone"}, {"name", "s"}});
  expect_same_refusal(c, "storage.volume_resize", {{"name", "vm1"}, {"size", 8 * MiB}});  // shrink without force
  expect_same_refusal(c, "storage.volume_resize", {{"name", "snap1"}, {"size", 32 * MiB}});
  expect_same_refusal(c, "storage.volume_attach", {{"name", "ct"}});
  expect_same_refusal(c, "storage.volume_attach", {{"name", "vm2"}, {"read_only", true}});
  expect_same_refusal(c, "storage.volume_detach", {{"name", "vm1"}});
  EXPECT_EQ(state_of(fs), before) << "a refusal wrote something";

  auto cli = d->cli({"volume", "delete", "vm1", "--dry-run"});
  ASSERT_TRUE(cli.ok()) << cli.err;
  EXPECT_NE(cli.out.find("would:"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("delete image " + vols + "/vm1"), std::string::npos) << cli.out;
  EXPECT_EQ(d->cli_json({"volume", "clone", "vm1", "vm9", "--dry-run"})["dry_run"], true);
  EXPECT_EQ(state_of(fs), before);
  c.call("storage.volume_detach", {{"name", "vm2"}});
}
