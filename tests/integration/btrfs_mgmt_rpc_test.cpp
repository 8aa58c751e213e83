// The btrfs methods end to end: the real daemon registry in a sandboxed child (execve denied),
// driven by the mos-volmgr CLI binary and raw JSON-RPC through socat; the btrfs CLI judges.
#include <signal.h>

#include <gtest/gtest.h>

#include <regex>

#include "engine/device_key.hpp"
#include "rpc/client.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/daemon.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
using nlohmann::json;

namespace {

std::vector<std::string> cli_subvolume_paths(const std::string& mnt) {
  std::vector<std::string> out;
  std::regex re(R"(ID \d+ gen \d+ top level \d+ path (.+))");
  for (auto& l : lines_of(run_tool({"btrfs", "subvolume", "list", mnt}).out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) out.push_back(m[1]);
  }
  return out;
}

std::string job_state(mos::rpc::Client& c, uint64_t id) { return c.call("storage.jobs", {{"id", id}})["state"]; }

// Polls until the job is neither queued nor running (at most `seconds`); its last state.
std::string wait_job_end(mos::rpc::Client& c, uint64_t id, int seconds = 60) {
  std::string state;
  for (int i = 0; i < seconds * 20; ++i) {
    state = job_state(c, id);
    if (state != "running" && state != "queued") break;
    usleep(50000);
  }
  return state;
}

}  // namespace

// Scrub, balance and defrag key by the filesystem (one mutating job per device at a
// time): a balance named through a bind mount and a defrag of a file in a subvolume both wait
// behind a scrub of the mount point, and run (one after the other) once it is cancelled.
TEST(BtrfsMgmtRpc, OneJobPerFilesystemWhicheverPathNamesIt) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("onejob"));
  const std::string mnt = fs.mnt();
  ASSERT_TRUE(run_tool({"btrfs", "subvolume", "create", mnt + "/sv"}).ok());
  ASSERT_TRUE(write_random(mnt + "/sv/f", 64000000, true).ok());
  const std::string bind = fs.dir().path() + "/bind";
  ASSERT_TRUE(run_tool({"mkdir", "-p", bind}).ok());
  ASSERT_TRUE(run_tool({"mount", "--bind", mnt, bind}).ok());
  MountGuard bind_guard(bind);
  const std::string fsid = trim(run_sh("btrfs filesystem show " + mnt + " | sed -n 's/.*uuid: //p'").out);
  ASSERT_EQ(fsid.size(), 36u);
  // Every path into the filesystem is the same key; another btrfs is another.
  for (const std::string& p : {mnt, bind, mnt + "/sv", mnt + "/sv/f", bind + "/sv/f"})
    EXPECT_EQ(mos::engine::btrfs_job_key(p), "btrfs:" + fsid) << p;
  BtrfsOnLoops other(1, 256ull << 20, {}, unique_label("onejob2"));
  EXPECT_NE(mos::engine::btrfs_job_key(other.mnt()), "btrfs:" + fsid);
  // 1 MiB/s: the scrub is still running while the others are submitted.
  auto w = run_sh("echo 1048576 > /sys/fs/btrfs/" + fsid + "/devinfo/1/scrub_speed_max");
  ASSERT_TRUE(w.ok()) << w.err;

  SandboxedDaemon d("/dev/loop*");
  ASSERT_TRUE(d.ready());
  mos::rpc::Client c(d.socket());
  uint64_t scrub = c.call("storage.scrub_start", {{"mount_point", mnt}, {"background", true}})["job_id"];
  for (int i = 0; i < 200 && job_state(c, scrub) != "running"; ++i) usleep(25000);
  ASSERT_EQ(job_state(c, scrub), "running");
  uint64_t balance = c.call("storage.balance_start", {{"mount_point", bind}, {"background", true}})["job_id"];
  uint64_t defrag = c.call("storage.defrag", {{"path", mnt + "/sv/f"}, {"background", true}})["job_id"];
  usleep(300000);
  EXPECT_EQ(job_state(c, balance), "queued");
  EXPECT_EQ(job_state(c, defrag), "queued");
  EXPECT_EQ(job_state(c, scrub), "running");
  EXPECT_EQ(run_sh("btrfs balance status " + mnt).out.find("is running"), std::string::npos);

  EXPECT_EQ(c.call("storage.job_cancel", {{"id", scrub}})["cancelled"], true);
  EXPECT_EQ(wait_job_end(c, scrub), "cancelled");
  EXPECT_EQ(wait_job_end(c, balance), "succeeded");
  EXPECT_EQ(wait_job_end(c, defrag), "succeeded");
  ASSERT_TRUE(run_sh("echo 0 > /sys/fs/btrfs/" + fsid + "/devinfo/1/scrub_speed_max").ok());
  auto chk = run_tool({"btrfs", "scrub", "start", "-B", "-r", mnt});
  EXPECT_TRUE(chk.ok()) << chk.out << chk.err;
}

TEST(BtrfsMgmtRpc, CliDrivesSubvolumesQuotaScrubBalanceAndDevices) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(2, 1ull << 30, {"-d", "raid1", "-m", "raid1"}, unique_label("rpc"));
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 30000000, true).ok());
  std::string mnt = fs.mnt();
  SandboxedDaemon d("/dev/loop*");

  // Subvolumes.
  ASSERT_TRUE(d.cli({"create-subvolume", "apps", "--filesystem", mnt}).ok());
  ASSERT_TRUE(d.cli({"create-subvolume", "system", "--filesystem", mnt}).ok());
  auto snap = d.cli_json({"snapshot", "apps", "apps-ro", "--filesystem", mnt});
  EXPECT_EQ(snap["read_only"], true);
  json list = d.cli_json({"subvolumes", "--filesystem", mnt});
  std::vector<std::string> ours;
  for (auto& s : list["subvolumes"]) ours.push_back(s["path"]);
  EXPECT_EQ(ours, cli_subvolume_paths(mnt));
  auto core = d.cli({"delete-subvolume", "system", "--filesystem", mnt});
  EXPECT_NE(core.exit_code, 0);
  EXPECT_NE(core.err.find("core subvolume"), std::string::npos) << core.err;
  EXPECT_EQ(std::count(core.err.begin(), core.err.end(), '\n'), 1) << core.err;
  EXPECT_NE(d.cli({"create-subvolume", "../escape", "--filesystem", mnt}).exit_code, 0);
  json bad = d.rpc_raw({{"jsonrpc", "2.0"}, {"id", 1}, {"method", "storage.create_subvolume"},
                    {"params", {{"name", "a/../b"}, {"filesystem", mnt}}}});
  EXPECT_EQ(bad["error"]["code"], -32001) << bad.dump();
  bad = d.rpc_raw({{"jsonrpc", "2.0"}, {"id", 2}, {"method", "storage.create_subvolume"},
               {"params", {{"name", "x"}, {"filesystem", mnt}, {"extra", 1}}}});
  EXPECT_EQ(bad["error"]["code"], -32602) << bad.dump();
  bad = d.rpc_raw({{"jsonrpc", "2.0"}, {"id", 3}, {"method", "storage.scrub_start"}, {"params", {{"mount_point", fs.dir().path()}}}});
  EXPECT_EQ(bad["error"]["code"], -32001) << bad.dump();
  EXPECT_EQ(cli_subvolume_paths(mnt), ours);  // nothing changed by the refusals
  ASSERT_TRUE(d.cli({"delete-subvolume", "apps-ro", "--filesystem", mnt}).ok());

  // Quota.
  json q = d.cli_json({"set-quota", "apps", "100M", "--filesystem", mnt});
  EXPECT_EQ(q["max_referenced_bytes"], 100u << 20);
  auto qs = run_tool({"btrfs", "qgroup", "show", "-re", "--raw", mnt});
  EXPECT_NE(qs.out.find(std::to_string(100u << 20)), std::string::npos) << qs.out;

  // Scrub as a waited job, then its status; the CLI's own scrub reads the same data bytes.
  json scrub = d.cli_json({"scrub-start", mnt, "--wait"});
  EXPECT_EQ(scrub["state"], "finished");
  EXPECT_EQ(scrub["error_count"], 0u);
  json status = d.cli_json({"scrub-status", mnt});
  EXPECT_EQ(status["state"], "finished");
  EXPECT_EQ(status["totals"], scrub["totals"]);
  auto raw = run_tool({"btrfs", "scrub", "start", "-B", "-R", mnt});
  EXPECT_NE(raw.out.find("data_bytes_scrubbed: " + std::to_string(scrub["totals"]["data_bytes_scrubbed"].get<uint64_t>())),
            std::string::npos)
      << raw.out;
  EXPECT_NE(d.cli({"scrub-start", fs.dir().path(), "--wait"}).exit_code, 0);
  EXPECT_NE(d.cli({"scrub-cancel", mnt}).exit_code, 0);  // none running

  // Balance convert to single, then remove the second device and add it back.
  json bal = d.cli_json({"balance-start", mnt, "--convert", "single", "--force", "--wait"});
  EXPECT_EQ(bal["state"], "finished");
  auto df = run_tool({"btrfs", "filesystem", "df", "-b", mnt}).out;
  EXPECT_NE(df.find("Data, single"), std::string::npos) << df;
  EXPECT_EQ(df.find("RAID1"), std::string::npos) << df;
  json removed = d.cli_json({"remove-device", mnt, fs.dev(1)});
  EXPECT_EQ(removed["num_devices"], 1u);
  LoopImage ext4(256ull << 20);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", ext4.dev()}).ok());
  auto refused = d.cli({"add-device", mnt, ext4.dev()});
  EXPECT_NE(refused.exit_code, 0);
  json added = d.cli_json({"add-device", mnt, fs.dev(1), "--force"});
  EXPECT_EQ(added["num_devices"], 2u);
  EXPECT_EQ(blkid_probe(ext4.dev())["TYPE"], "ext4");

  // Defrag of a file and of the tree (jobs the CLI waits for).
  json one = d.cli_json({"defrag", mnt + "/f"});
  EXPECT_EQ(one["files_defragmented"], 1u);
  json tree = d.cli_json({"defrag", mnt});
  EXPECT_EQ(tree["files_defragmented"], 1u);  // apps and system are other subvolumes, not walked

  // Usage figures and job list.
  json usage = d.cli_json({"fs-usage", mnt});
  EXPECT_GT(usage["device_size"].get<uint64_t>(), 2000000000u);
  EXPECT_EQ(d.cli_json({"device-stats", mnt}).size(), 2u);
  json df_json = d.cli_json({"fs-df", mnt});
  EXPECT_FALSE(df_json["groups"].empty());
  json jobs = d.cli_json({"jobs"});
  int succeeded = 0;
  for (auto& j : jobs) succeeded += j["state"] == "succeeded";
  EXPECT_EQ(succeeded, 4) << jobs.dump();  // scrub, balance, two defrags
  EXPECT_TRUE(d.cli({"fs-usage", mnt}).ok());
  d.stop(SIGTERM);
}

TEST(BtrfsMgmtRpc, PolicyRefusesFilesystemsOutsideAllowedDevices) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("policy"));
  SandboxedDaemon d("/dev/mos-nothing*");
  auto r = d.cli({"create-subvolume", "apps", "--filesystem", fs.mnt()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("allow"), std::string::npos) << r.err;
  EXPECT_NE(d.cli({"scrub-start", fs.mnt()}).exit_code, 0);
  EXPECT_NE(d.cli({"balance-start", fs.mnt()}).exit_code, 0);
  EXPECT_TRUE(cli_subvolume_paths(fs.mnt()).empty());
  // Read-only figures judge the members as well (issue 19: judged on the handle they read).
  auto df = d.cli({"fs-df", fs.mnt()});
  EXPECT_NE(df.exit_code, 0);
  EXPECT_NE(df.err.find("allow"), std::string::npos) << df.err;
  d.stop(SIGTERM);
}
