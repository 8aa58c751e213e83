// Size limits of fs volumes through the daemon (sandboxed, execve denied): a write past the limit
// fails with EDQUOT (O_DIRECT and fsync, so the accounting is real), within it succeeds; resize
// moves the limit; `btrfs qgroup show` (the oracle) agrees. The host kernel has simple quotas
// (6.7+); a filesystem whose quota is already on in qgroup mode keeps it, and an inconsistent
// qgroup is reported.
#include <gtest/gtest.h>

#include <unistd.h>

#include <iterator>
#include <sstream>

#include "rpc/client.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/integration/volumes_support.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;

namespace {

constexpr uint64_t MiB = 1ull << 20;

// Writes `mib` MiB of random bytes to path with O_DIRECT and fsync; the tool's result.
ToolResult write_mib(const std::string& path, uint64_t mib) {
  return run_tool({"dd", "if=/dev/urandom", "of=" + path, "bs=1M", "count=" + std::to_string(mib), "oflag=direct",
                   "conv=fsync", "status=none"});
}

bool quota_exceeded(const ToolResult& r) { return !r.ok() && r.err.find("Disk quota exceeded") != std::string::npos; }

// max_rfer of the volume's level-0 qgroup as `btrfs qgroup show --raw` prints it ("none" or bytes).
std::string oracle_max_rfer(const std::string& mnt, const std::string& volume) {
  const std::string id = trim(run_tool({"btrfs", "inspect-internal", "rootid", volume}).out);
  auto r = run_tool({"btrfs", "qgroup", "show", "-re", "--raw", mnt});
  for (const auto& line : lines_of(r.out)) {
    std::istringstream in(line);
    std::vector<std::string> cols{std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
    if (cols.size() >= 4 && cols[0] == "0/" + id) return cols[3];
  }
  return "no qgroup 0/" + id + " in: " + r.out + r.err;
}

// The incompat bit simple quotas set (BTRFS_FEATURE_INCOMPAT_SIMPLE_QUOTA), from the superblock
// as `btrfs inspect-internal dump-super` prints it: the filesystem no longer mounts before 6.7.
bool has_simple_quota_flag(const std::string& dev) {
  auto r = run_tool({"btrfs", "inspect-internal", "dump-super", dev});
  for (const auto& line : lines_of(r.out))
    if (line.rfind("incompat_flags", 0) == 0) return std::stoull(trim(line.substr(line.find("0x"))), nullptr, 16) & 0x10000;
  ADD_FAILURE() << "no incompat_flags in: " << r.out << r.err;
  return false;
}

// A 16 MiB limit made through the CLI runs in qgroup mode and holds (EDQUOT past it, the oracle
// agrees); then shared extents (a clone) and a relation added without a rescan leave the kernel
// unable to update the figures: it marks them inconsistent, and show and list must say so.
void qgroup_limit_holds_and_inconsistency_shows(const SandboxedDaemon& d, mos::rpc::Client& c, const std::string& mnt) {
  json ct = d.cli_json({"volume", "create", "ct", "--kind", "fs", "--limit", "16M"});
  EXPECT_EQ(ct["limit_mode"], "qgroup") << ct;
  EXPECT_EQ(ct["limit"], 16 * MiB);
  const std::string dir = ct["path"];
  EXPECT_EQ(oracle_max_rfer(mnt, dir), std::to_string(16 * MiB));
  EXPECT_TRUE(write_mib(dir + "/within", 4).ok());
  auto past = write_mib(dir + "/past", 32);
  EXPECT_TRUE(quota_exceeded(past)) << past.err;
  EXPECT_EQ(c.call("storage.volume_show", {{"name", "ct"}})["limit_inconsistent"], false);

  c.call("storage.volume_clone", {{"origin", "ct"}, {"name", "ct2"}});
  const std::string id = trim(run_tool({"btrfs", "inspect-internal", "rootid", dir}).out);
  ASSERT_TRUE(run_tool({"btrfs", "qgroup", "create", "1/100", mnt}).ok());
  auto assign = run_tool({"btrfs", "qgroup", "assign", "--no-rescan", "0/" + id, "1/100", mnt});
  ASSERT_TRUE(assign.ok()) << assign.err;
  json shown = c.call("storage.volume_show", {{"name", "ct"}});
  EXPECT_EQ(shown["limit_inconsistent"], true) << shown;
  auto table = d.cli({"volume", "list"});
  EXPECT_NE(table.out.find("16.0 MiB (qgroup, inconsistent)"), std::string::npos) << table.out;
}

}  // namespace

// Simple quotas on the host: quota stays off until a volume asks for a limit; then a write past
// it fails with EDQUOT, one within it succeeds, resize raises it and 0 removes it.
TEST(VolumeLimits, FsLimitHoldsAndResizeMovesItWithSimpleQuotas) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("vollim"));
  auto d = volume_daemon(fs);
  ASSERT_TRUE(d->ready());
  mos::rpc::Client c(d->socket());

  json open = c.call("storage.volume_create", {{"name", "open"}, {"kind", "fs"}});
  EXPECT_EQ(open["limit"], nullptr);
  EXPECT_EQ(open["limit_mode"], "none");
  c.call("storage.volume_resize", {{"name", "open"}, {"size", 0}});
  EXPECT_FALSE(run_tool({"btrfs", "qgroup", "show", fs.mnt()}).ok()) << "quota turned on for no limit";

  json ct = c.call("storage.volume_create", {{"name", "ct"}, {"kind", "fs"}, {"limit", 16 * MiB}});
  EXPECT_EQ(ct["limit"], 16 * MiB) << ct;
  EXPECT_EQ(ct["limit_mode"], "simple") << ct;
  EXPECT_EQ(ct["limit_inconsistent"], false);
  const std::string dir = ct["path"];
  EXPECT_EQ(oracle_max_rfer(fs.mnt(), dir), std::to_string(16 * MiB));
  // Idempotent with the same limit, refused with another.
  EXPECT_EQ(c.call("storage.volume_create", {{"name", "ct"}, {"kind", "fs"}, {"limit", 16 * MiB}})["created_unix"],
            ct["created_unix"]);
  EXPECT_EQ(rpc_error(c, "storage.volume_create", {{"name", "ct"}, {"kind", "fs"}, {"limit", 32 * MiB}}).first, -32001);

  EXPECT_TRUE(write_mib(dir + "/within", 4).ok());
  auto past = write_mib(dir + "/past", 32);
  EXPECT_TRUE(quota_exceeded(past)) << past.err;
  // The volume without a limit is not bounded by its neighbour's.
  EXPECT_TRUE(write_mib(open["path"].get<std::string>() + "/big", 32).ok());

  // A clone of the full volume starts without a limit (the kernel would copy it) and is writable.
  json copy = c.call("storage.volume_clone", {{"origin", "ct"}, {"name", "ct-copy"}});
  EXPECT_EQ(copy["limit"], nullptr) << copy;
  EXPECT_TRUE(write_mib(copy["path"].get<std::string>() + "/more", 32).ok());

  json grown = c.call("storage.volume_resize", {{"name", "ct"}, {"size", 96 * MiB}});
  EXPECT_EQ(grown["limit"], 96 * MiB);
  EXPECT_EQ(oracle_max_rfer(fs.mnt(), dir), std::to_string(96 * MiB));
  EXPECT_TRUE(write_mib(dir + "/now-fits", 32).ok());
  auto table = d->cli({"volume", "show", "ct"});
  EXPECT_NE(table.out.find("96.0 MiB (simple)"), std::string::npos) << table.out;

  json open_ended = c.call("storage.volume_resize", {{"name", "ct"}, {"size", 0}});
  EXPECT_EQ(open_ended["limit"], nullptr);
  EXPECT_EQ(open_ended["limit_mode"], "none");
  EXPECT_EQ(oracle_max_rfer(fs.mnt(), dir), "none");
  EXPECT_TRUE(write_mib(dir + "/unbounded", 128).ok());
}

// Quota already on in qgroup mode (as a kernel before 6.7 leaves it): the limit is a qgroup limit
// and holds; a qgroup the kernel marks inconsistent is reported as such, not hidden.
TEST(VolumeLimits, QgroupModeHoldsAndAnInconsistentQgroupIsReported) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("volqg"));
  ASSERT_TRUE(run_tool({"btrfs", "quota", "enable", fs.mnt()}).ok());
  auto d = volume_daemon(fs);
  ASSERT_TRUE(d->ready());
  mos::rpc::Client c(d->socket());
  qgroup_limit_holds_and_inconsistency_shows(*d, c, fs.mnt());
}

// --volumes-limit-mode qgroup on a kernel with simple quotas: quota off, the first limit enables
// classic qgroups (no simple-quota incompat bit in the superblock: still mountable before 6.7),
// the limit holds with EDQUOT, a dry run predicts the mode, and an inconsistent qgroup is reported.
TEST(VolumeLimits, ForcedQgroupsHoldWhereSimpleQuotasExist) {
  MOS_REQUIRE_ROOT();
  if (::access("/sys/fs/btrfs/features/simple_quota", F_OK) != 0) GTEST_SKIP() << "the kernel has no simple quotas";
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("volfq"));
  auto d = volume_daemon(fs, [](mos::rpc::DaemonOptions& o) { o.volumes_classic_qgroups = true; });
  ASSERT_TRUE(d->ready());
  mos::rpc::Client c(d->socket());
  json dry = c.call("storage.volume_create", {{"name", "ct"}, {"kind", "fs"}, {"limit", 16 * MiB}, {"dry_run", true}});
  EXPECT_EQ(dry["limit_mode"], "qgroup") << dry;
  qgroup_limit_holds_and_inconsistency_shows(*d, c, fs.mnt());
  EXPECT_FALSE(has_simple_quota_flag(fs.dev(0)));
}
