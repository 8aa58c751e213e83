// Scrub, balance and device add/remove on real multi-device btrfs. Oracles: `btrfs scrub start
// -B -R` on the same corruption, `btrfs device stats`, `btrfs filesystem df/show`,
// `btrfs balance status`; file contents compared by checksum.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/json.hpp"
#include "engine/btrfs/scrub.hpp"
#include "engine/btrfs/usage.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
namespace bt = mos::engine::btrfs;
using nlohmann::json;

namespace {

const std::string kMarker = "mos-volmgr scrub marker block ";

// A 256 KiB file of a recognisable pattern, so its blocks can be found on the raw device.
void write_marker_file(const std::string& path) {
  std::string data;
  while (data.size() < 256 * 1024) data += kMarker;
  data.resize(256 * 1024);
  std::ofstream(path, std::ios::binary) << data;
  run_tool({"sync"});
}

// Overwrites the first 4 KiB block of the marker file's copy on one (unmounted) device image.
void corrupt_marker_copy(const std::string& image_file) {
  auto r = run_tool({"python3", "-c",
                     "import sys,mmap\n"
                     "f=open(sys.argv[1],'r+b'); m=mmap.mmap(f.fileno(),0)\n"
                     "i=m.find(sys.argv[2].encode())\n"
                     "assert i>=0 and i%4096==0, i\n"
                     "m[i:i+4096]=b'\\xee'*4096; m.flush(); print(i)\n",
                     image_file, kMarker});
  ASSERT_TRUE(r.ok()) << r.err;
}

std::map<std::string, uint64_t> cli_scrub_raw(const std::string& mnt) {
  auto r = run_tool({"btrfs", "scrub", "start", "-B", "-R", mnt});
  std::map<std::string, uint64_t> out;
  std::regex re(R"(\s+(\w+): (\d+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) out[m[1]] = std::stoull(m[2]);
  }
  EXPECT_FALSE(out.empty()) << r.out << r.err;
  return out;
}

std::map<std::string, std::string> cli_device_stats(const std::string& mnt) {
  auto r = run_tool({"btrfs", "device", "stats", mnt});
  std::map<std::string, std::string> cli;
  std::regex re(R"(\[(\S+)\]\.(\w+)\s+(\d+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) cli[std::string(m[1]) + "." + std::string(m[2])] = m[3];
  }
  return cli;
}

// "Data,RAID1" -> total bytes, from `btrfs filesystem df -b`.
std::map<std::string, uint64_t> cli_df_profiles(const std::string& mnt) {
  auto r = run_tool({"btrfs", "filesystem", "df", "-b", mnt});
  std::map<std::string, uint64_t> out;
  std::regex re(R"(([A-Za-z+]+), ([A-Za-z0-9]+): total=(\d+), used=(\d+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re) && m[1] != "GlobalReserve") out[std::string(m[1]) + "," + std::string(m[2])] = std::stoull(m[3]);
  }
  return out;
}

std::vector<std::string> cli_show_paths(const std::string& mnt) {
  auto r = run_tool({"btrfs", "filesystem", "show", "--raw", mnt});
  std::vector<std::string> out;
  std::regex re(R"(\s+devid\s+\d+ size \d+ used \d+ path (\S+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) out.push_back(m[1]);
  }
  return out;
}

std::string md5(const std::string& file) { return run_tool({"md5sum", file}).out.substr(0, 32); }

std::string fsid_of(const std::string& mnt) {
  return trim(run_sh("btrfs filesystem show " + mnt + " | sed -n 's/.*uuid: //p'").out);
}

}  // namespace

TEST(BtrfsMgmtScrub, RepairsCorruptionWithTheSameCountersAsCli) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(2, 1ull << 30, {"-d", "raid1", "-m", "raid1"}, unique_label("scrub"));
  write_marker_file(fs.mnt() + "/marker");
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 20000000, true).ok());
  std::string sum = md5(fs.mnt() + "/f");

  // Oracle run: the CLI scrubs one corrupted copy.
  fs.unmount();
  corrupt_marker_copy(fs.image(0).file());
  fs.mount();
  const auto cli = cli_scrub_raw(fs.mnt());  // at(): a counter the CLI did not print fails, never reads 0
  ASSERT_EQ(cli.at("csum_errors"), 1u);
  ASSERT_EQ(cli.at("corrected_errors"), 1u);

  // Same corruption again, scrubbed by us.
  fs.unmount();
  corrupt_marker_copy(fs.image(0).file());
  fs.mount();
  std::string mnt = fs.mnt();
  json rep = ok_json(sandboxed([&] {
    uint64_t last_done = 0, last_total = 0;
    auto r = bt::scrub_run(
        mnt, false, kAllowAll, [&](uint64_t d, uint64_t t) { last_done = d; last_total = t; }, nullptr);
    json j = r;
    j["progress_done"] = last_done;
    j["progress_total"] = last_total;
    j["status_after"] = bt::scrub_status(mnt, kAllowAll);
    j["stats"] = bt::device_stats(mnt, kAllowAll);
    return j.dump();
  }));
  ASSERT_FALSE(rep.is_null());
  EXPECT_EQ(rep["state"], "finished");
  EXPECT_EQ(rep["devices"].size(), 2u);
  const json& t = rep["totals"];
  for (const char* k : {"data_extents_scrubbed", "data_bytes_scrubbed", "read_errors", "csum_errors",
                        "verify_errors", "super_errors", "uncorrectable_errors", "corrected_errors", "no_csum"})
    EXPECT_EQ(t.at(k), cli.at(k)) << k;
  // Metadata changes between the two runs (dev stats, commits), so tree figures are close, not equal.
  EXPECT_NEAR(double(t.at("tree_bytes_scrubbed").get<uint64_t>()), double(cli.at("tree_bytes_scrubbed")), 256 * 1024.0);
  EXPECT_EQ(rep["devices"][0]["counters"]["csum_errors"], 1u);
  EXPECT_EQ(rep["devices"][1]["counters"]["csum_errors"], 0u);
  EXPECT_EQ(rep["progress_total"], rep["bytes_to_scrub"]);
  EXPECT_EQ(rep["status_after"]["state"], "finished");
  EXPECT_EQ(rep["status_after"]["totals"], rep["totals"]);

  // device_stats equals `btrfs device stats`, and shows both corruptions on the first device.
  const auto stats_cli = cli_device_stats(mnt);
  ASSERT_EQ(stats_cli.size(), 10u);
  for (auto& d : rep["stats"])
    for (const char* k : {"write_io_errs", "read_io_errs", "flush_io_errs", "corruption_errs", "generation_errs"})
      EXPECT_EQ(stats_cli.at(d["path"].get<std::string>() + "." + k), std::to_string(d[k].get<uint64_t>())) << k;
  EXPECT_EQ(rep["stats"][0]["corruption_errs"], 2u);

  // Repaired: the CLI finds nothing now, data intact.
  const auto clean = cli_scrub_raw(mnt);
  EXPECT_EQ(clean.at("csum_errors"), 0u);
  EXPECT_EQ(md5(mnt + "/f"), sum);
}

TEST(BtrfsMgmtScrub, StatusAndCancelWhileRunning) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(2, 1ull << 30, {"-d", "raid1", "-m", "raid1"}, unique_label("scrubcancel"));
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 200000000, true).ok());
  // Throttle scrub (16 MiB/s per device) so it is still running while we look at it.
  std::string sys = "/sys/fs/btrfs/" + fsid_of(fs.mnt()) + "/devinfo/";
  for (const char* id : {"1", "2"}) {
    auto w = run_sh("echo 16777216 > " + sys + id + "/scrub_speed_max");
    ASSERT_TRUE(w.ok()) << sys << ": " << w.err;
  }
  std::string mnt = fs.mnt();

  json out = ok_json(sandboxed([&] {
    std::atomic<bool> cancel{false};
    json j;
    bt::ScrubReport final_report;
    std::thread runner([&] { final_report = bt::scrub_run(mnt, true, kAllowAll, {}, &cancel); });
    for (int i = 0; i < 100 && bt::scrub_status(mnt, kAllowAll).state != "running"; ++i) usleep(50 * 1000);
    usleep(500 * 1000);
    j["status"] = bt::scrub_status(mnt, kAllowAll);
    try {
      bt::scrub_check_can_start(mnt, kAllowAll);
      j["second_start"] = "accepted";
    } catch (const mos::Error& e) {
      j["second_start"] = static_cast<int>(e.code());
    }
    cancel = true;
    runner.join();
    j["final"] = final_report;
    try {
      bt::scrub_cancel(mnt, kAllowAll);
      j["cancel_idle"] = "accepted";
    } catch (const mos::Error& e) {
      j["cancel_idle"] = static_cast<int>(e.code());
    }
    return j.dump();
  }));
  ASSERT_FALSE(out.is_null());
  EXPECT_EQ(out["status"]["state"], "running");
  EXPECT_GT(out["status"]["totals"]["data_bytes_scrubbed"].get<uint64_t>(), 0u);
  EXPECT_EQ(out["second_start"], -32000);
  EXPECT_EQ(out["final"]["state"], "cancelled");
  EXPECT_LT(out["final"]["totals"]["data_bytes_scrubbed"].get<uint64_t>(), 2 * 200000000u);
  EXPECT_EQ(out["cancel_idle"], -32002);
  // The kernel agrees no scrub is left running.
  auto r = run_tool({"btrfs", "scrub", "cancel", mnt});
  EXPECT_FALSE(r.ok()) << r.out;
}

TEST(BtrfsMgmtScrub, UnmountedFilesystemIsRefused) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("scrubunmounted"), /*mount_it=*/false);
  std::string mnt = fs.mnt();
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::scrub_run(mnt, false, kAllowAll, {}, nullptr)).dump();
            })),
            -32001);
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::scrub_status(mnt, kAllowAll)).dump(); })), -32001);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::scrub_run("/no/such/dir", false, kAllowAll, {}, nullptr)).dump();
            })),
            -32002);
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::balance_status(mnt, kAllowAll)).dump(); })), -32001);
  // Mounted, but a subdirectory rather than the mount point: refused as well.
  fs.mount();
  ASSERT_TRUE(run_tool({"mkdir", mnt + "/sub"}).ok());
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::scrub_run(mnt + "/sub", false, kAllowAll, {}, nullptr)).dump();
            })),
            -32001);
}

TEST(BtrfsMgmtDevices, AddConvertToRaid1RemoveAndBack) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {"-d", "single", "-m", "dup"}, unique_label("devices"));
  LoopImage fresh(1ull << 30), used(1ull << 30);
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", used.dev()}).ok());
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 50000000, true).ok());
  std::string sum = md5(fs.mnt() + "/f");
  std::string mnt = fs.mnt(), fresh_dev = fresh.dev(), used_dev = used.dev(), own_dev = fs.dev(0);

  // Refused: a device with a filesystem, the mounted member itself, a missing node, bad profiles.
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::add_device(mnt, used_dev, false, kAllowAll)).dump(); })), -32001);
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::add_device(mnt, own_dev, false, kAllowAll)).dump(); })), -32001);
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::add_device(mnt, "/dev/mos-no-such", false, kAllowAll)).dump(); })),
            -32002);
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::balance_run({mnt, "raid1", false}, kAllowAll, {}, nullptr)).dump();
            })),
            -32001);  // one device only
  EXPECT_EQ(err_code(sandboxed([&] {
              return json(bt::balance_run({mnt, "raid7", false}, kAllowAll, {}, nullptr)).dump();
            })),
            -32001);
  EXPECT_EQ(cli_show_paths(mnt).size(), 1u);
  EXPECT_EQ(blkid_probe(used_dev)["TYPE"], "btrfs");
  auto df_before = cli_df_profiles(mnt);
  EXPECT_TRUE(df_before.count("Data,single") && df_before.count("Metadata,DUP"));

  json added = ok_json(sandboxed([&] { return json(bt::add_device(mnt, fresh_dev, false, kAllowAll)).dump(); }));
  EXPECT_EQ(added["num_devices"], 2u);
  EXPECT_EQ(added["devid"], 2u);
  auto paths = cli_show_paths(mnt);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[1], fresh_dev);

  json conv = ok_json(sandboxed([&] {
    uint64_t calls = 0;
    auto r = bt::balance_run({mnt, "raid1", false}, kAllowAll, [&](uint64_t, uint64_t) { ++calls; }, nullptr);
    json j = r;
    j["progress_calls"] = calls;
    j["status_after"] = bt::balance_status(mnt, kAllowAll);
    return j.dump();
  }));
  EXPECT_EQ(conv["state"], "finished");
  EXPECT_GT(conv["completed_chunks"].get<uint64_t>(), 0u);
  EXPECT_EQ(conv["status_after"]["state"], "idle");
  auto df = cli_df_profiles(mnt);
  for (auto& [k, v] : df) EXPECT_NE(k.find(",RAID1"), std::string::npos) << k;
  EXPECT_TRUE(df.count("Data,RAID1") && df.count("Metadata,RAID1") && df.count("System,RAID1"));

  // RAID1 cannot lose a device.
  std::string refused = sandboxed([&] { return json(bt::remove_device(mnt, fresh_dev, kAllowAll)).dump(); });
  EXPECT_EQ(err_code(refused), -32000) << refused;
  EXPECT_EQ(cli_show_paths(mnt).size(), 2u);
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::remove_device(mnt, used_dev, kAllowAll)).dump(); })), -32002);

  // Back to single (lowering metadata redundancy needs force), then remove devid 2.
  std::string no_force =
      sandboxed([&] { return json(bt::balance_run({mnt, "single", false}, kAllowAll, {}, nullptr)).dump(); });
  EXPECT_EQ(err_code(no_force), -32000) << no_force;
  json back =
      ok_json(sandboxed([&] { return json(bt::balance_run({mnt, "single", true}, kAllowAll, {}, nullptr)).dump(); }));
  EXPECT_EQ(back["state"], "finished");
  json removed = ok_json(sandboxed([&] { return json(bt::remove_device(mnt, "2", kAllowAll)).dump(); }));
  EXPECT_EQ(removed["num_devices"], 1u);
  paths = cli_show_paths(mnt);
  ASSERT_EQ(paths.size(), 1u);
  EXPECT_EQ(paths[0], own_dev);
  EXPECT_EQ(md5(mnt + "/f"), sum);
  fs.unmount();
  auto check_r = run_btrfs_check({"btrfs", "check", "--readonly", own_dev});
  EXPECT_TRUE(check_r.ok()) << check_r.out << check_r.err;
}

TEST(BtrfsMgmtBalance, RefusedWhileOneRunsThenCancelled) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(2, 2ull << 30, {"-d", "raid1", "-m", "raid1"}, unique_label("balance"));
  ASSERT_TRUE(run_sh("for i in 1 2 3 4 5 6; do head -c 60000000 /dev/urandom > " + fs.mnt() +
                     "/f$i; done; sync").ok());
  std::string mnt = fs.mnt();
  auto df_before = cli_df_profiles(mnt);
  // Someone else (the CLI) starts a balance and pauses it: it stays in progress. The balance of a
  // few chunks on a loop device can end within the milliseconds a `btrfs balance pause` process
  // takes to start, so the pause is asked for by ioctl in a tight loop that begins before the
  // balance does (the kernel answers ENOTCONN until the balance is registered), and the whole
  // attempt is repeated if the balance still finished first.
  ToolResult st;
  for (int attempt = 0; attempt < 5; ++attempt) {
    int dir = ::open(mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(dir, 0) << mnt;
    std::atomic<bool> stop{false};
    std::thread pauser([&] {
      while (!stop && ::ioctl(dir, BTRFS_IOC_BALANCE_CTL, BTRFS_BALANCE_CTL_PAUSE) != 0) {
      }
    });
    auto started = run_tool({"btrfs", "balance", "start", "--full-balance", "--bg", mnt});
    for (int i = 0; i < 500; ++i) {  // up to 5 s for the pause to land
      st = run_tool({"btrfs", "balance", "status", mnt});
      if (st.out.find("paused") != std::string::npos || st.out.find("No balance found") != std::string::npos) break;
      usleep(10000);
    }
    stop = true;
    pauser.join();
    ::close(dir);
    ASSERT_TRUE(started.ok()) << started.err;
    if (st.out.find("paused") != std::string::npos) break;
  }
  ASSERT_NE(st.out.find("paused"), std::string::npos) << "balance finished before it could be paused: " << st.out;

  json out = ok_json(sandboxed([&] {
    json j;
    j["status"] = bt::balance_status(mnt, kAllowAll);
    try {
      bt::balance_run({mnt, "single", true}, kAllowAll, {}, nullptr);
      j["second"] = "accepted";
    } catch (const mos::Error& e) {
      j["second"] = static_cast<int>(e.code());
      j["second_msg"] = e.what();
    }
    j["cancel"] = bt::balance_cancel(mnt, kAllowAll);
    j["after"] = bt::balance_status(mnt, kAllowAll);
    try {
      bt::balance_cancel(mnt, kAllowAll);
    } catch (const mos::Error& e) {
      j["cancel_idle"] = static_cast<int>(e.code());
    }
    return j.dump();
  }));
  ASSERT_FALSE(out.is_null());
  EXPECT_EQ(out["status"]["state"], "paused");
  EXPECT_GT(out["status"]["expected_chunks"].get<uint64_t>(), 0u);
  EXPECT_EQ(out["second"], -32000) << out.dump();
  EXPECT_EQ(out["cancel"]["state"], "cancelled");
  EXPECT_EQ(out["after"]["state"], "idle");
  EXPECT_EQ(out["cancel_idle"], -32002);
  // Nothing converted by the refused request; the CLI sees no balance left.
  auto df_after = cli_df_profiles(mnt);
  for (auto& [k, v] : df_after) EXPECT_NE(k.find(",RAID1"), std::string::npos) << k;
  EXPECT_NE(run_tool({"btrfs", "balance", "status", mnt}).out.find("No balance found"), std::string::npos);
}
