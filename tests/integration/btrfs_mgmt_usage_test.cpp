// fs_usage / fs_df / device_stats against `btrfs filesystem usage -b`, `btrfs filesystem df -b`
// and `btrfs device stats` on the same filesystem (single device and RAID1); resize_max after
// growing the loop device; recursive defrag judged by filefrag extent counts.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <map>
#include <regex>

#include "engine/btrfs/devices.hpp"
#include "engine/btrfs/json.hpp"
#include "engine/btrfs/usage.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"

using namespace mos::test;
using namespace mos::test::btrfsmgmt;
namespace bt = mos::engine::btrfs;
using nlohmann::json;

namespace {

struct CliUsage {
  std::map<std::string, std::string> overall;  // "Device size" -> "1073741824"
  std::map<std::string, std::pair<std::string, std::string>> groups;  // "Data,single" -> size, used
  std::map<std::string, std::map<std::string, std::string>> per_device;  // group -> dev -> bytes
};

CliUsage cli_usage(const std::string& mnt) {
  auto r = run_tool({"btrfs", "filesystem", "usage", "-b", mnt});
  EXPECT_TRUE(r.ok()) << r.err;
  CliUsage u;
  std::regex kv(R"(\s+([A-Za-z ,()]+[A-Za-z)]):\s+(-?[0-9.]+|yes|no)(\s+\((min|used): (\d+)\))?.*)");
  std::regex group(R"(([A-Za-z+]+,[A-Za-z0-9]+): Size:(\d+), Used:(\d+).*)");
  std::regex dev(R"(\s+(/\S+)\s+(-?\d+))");
  std::string current;
  bool in_overall = false;
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (l == "Overall:") { in_overall = true; continue; }
    if (l.empty()) { in_overall = false; continue; }
    if (in_overall && std::regex_match(l, m, kv)) {
      u.overall[m[1]] = m[2];
      if (m[4].matched) u.overall[std::string(m[1]) + " " + std::string(m[4])] = m[5];
    } else if (std::regex_match(l, m, group)) {
      current = m[1];
      u.groups[current] = {m[2], m[3]};
    } else if (l == "Unallocated:") {
      current = "Unallocated";
    } else if (std::regex_match(l, m, dev)) {
      u.per_device[current][m[1]] = m[2];
    }
  }
  return u;
}

std::map<std::string, std::pair<std::string, std::string>> cli_df(const std::string& mnt) {
  auto r = run_tool({"btrfs", "filesystem", "df", "-b", mnt});
  EXPECT_TRUE(r.ok()) << r.err;
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::regex re(R"(([A-Za-z+]+), ([A-Za-z0-9]+): total=(\d+), used=(\d+))");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) out[std::string(m[1]) + "," + std::string(m[2])] = {m[3], m[4]};
  }
  return out;
}

std::string s(const json& v) { return std::to_string(v.get<uint64_t>()); }
std::string ratio(const json& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v.get<double>());
  return buf;
}

void expect_same_as_cli(const std::string& mnt) {
  auto ours = [&] {
    return ok_json(sandboxed([&] {
      json j;
      j["usage"] = bt::fs_usage(mnt, kAllowAll);
      j["df"] = bt::fs_df(mnt, kAllowAll);
      return j.dump();
    }));
  };
  // A background transaction commit can move the figures between our reading and the CLI's;
  // compare only a reading taken while the filesystem stood still (ours before == ours after).
  json pair;
  CliUsage cli;
  decltype(cli_df(mnt)) df;
  for (int attempt = 0; attempt < 5; ++attempt) {
    run_tool({"btrfs", "filesystem", "sync", mnt});
    pair = ours();
    cli = cli_usage(mnt);
    df = cli_df(mnt);
    if (ours() == pair) break;
  }
  ASSERT_FALSE(pair.is_null());
  const json& u = pair["usage"];

  EXPECT_EQ(cli.overall["Device size"], s(u["device_size"]));
  EXPECT_EQ(cli.overall["Device allocated"], s(u["device_allocated"]));
  EXPECT_EQ(cli.overall["Device unallocated"], std::to_string(u["device_unallocated"].get<int64_t>()));
  EXPECT_EQ(cli.overall["Device missing"], s(u["device_missing"]));
  EXPECT_EQ(cli.overall["Device slack"], s(u["device_slack"]));
  EXPECT_EQ(cli.overall["Used"], s(u["used"]));
  EXPECT_EQ(cli.overall["Free (estimated)"], s(u["free_estimated"]));
  EXPECT_EQ(cli.overall["Free (estimated) min"], s(u["free_estimated_min"]));
  EXPECT_EQ(cli.overall["Free (statfs, df)"], s(u["free_statfs"]));
  EXPECT_EQ(cli.overall["Data ratio"], ratio(u["data_ratio"]));
  EXPECT_EQ(cli.overall["Metadata ratio"], ratio(u["metadata_ratio"]));
  EXPECT_EQ(cli.overall["Global reserve"], s(u["global_reserve"]));
  EXPECT_EQ(cli.overall["Global reserve used"], s(u["global_reserve_used"]));
  EXPECT_EQ(cli.overall["Multiple profiles"], u["multiple_profiles"].get<bool>() ? "yes" : "no");
  EXPECT_EQ(cli.overall.size(), 14u) << "unexpected usage layout";

  ASSERT_EQ(cli.groups.size(), u["groups"].size());
  for (auto& g : u["groups"]) {
    std::string key = g["type"].get<std::string>() + "," + g["profile"].get<std::string>();
    ASSERT_TRUE(cli.groups.count(key)) << key;
    EXPECT_EQ(cli.groups[key].first, s(g["size_bytes"])) << key;
    EXPECT_EQ(cli.groups[key].second, s(g["used_bytes"])) << key;
    EXPECT_EQ(cli.per_device[key].size(), g["devices"].size()) << key;
    for (auto& d : g["devices"]) EXPECT_EQ(cli.per_device[key][d["path"]], s(d["bytes"])) << key;
  }
  ASSERT_EQ(cli.per_device["Unallocated"].size(), u["unallocated"].size());
  for (auto& d : u["unallocated"]) EXPECT_EQ(cli.per_device["Unallocated"][d["path"]], s(d["bytes"]));

  ASSERT_EQ(df.size(), pair["df"]["groups"].size());
  for (auto& g : pair["df"]["groups"]) {
    std::string key = g["type"].get<std::string>() + "," + g["profile"].get<std::string>();
    ASSERT_TRUE(df.count(key)) << key;
    EXPECT_EQ(df[key].first, s(g["total_bytes"])) << key;
    EXPECT_EQ(df[key].second, s(g["used_bytes"])) << key;
  }
}

uint64_t cli_devid_size(const std::string& mnt, uint64_t devid) {
  auto r = run_tool({"btrfs", "filesystem", "show", "--raw", mnt});
  std::regex re(R"(\s+devid\s+(\d+) size (\d+) used \d+ path .*)");
  for (auto& l : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_match(l, m, re) && std::stoull(m[1]) == devid) return std::stoull(m[2]);
  }
  ADD_FAILURE() << r.out;
  return 0;
}

int extents_of(const std::string& file) {
  auto r = run_tool({"filefrag", file});
  std::smatch m;
  std::regex re(R"(.*: (\d+) extents? found\s*)");
  std::string line = trim(r.out);
  if (!std::regex_match(line, m, re)) {
    ADD_FAILURE() << r.out << r.err;
    return -1;
  }
  return std::stoi(m[1]);
}

}  // namespace

TEST(BtrfsMgmtUsage, SingleDeviceFiguresMatchCli) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("usage1"));
  expect_same_as_cli(fs.mnt());
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 150000000, true).ok());
  expect_same_as_cli(fs.mnt());
}

TEST(BtrfsMgmtUsage, Raid1FiguresMatchCli) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(2, 1ull << 30, {"-d", "raid1", "-m", "raid1"}, unique_label("usage2"));
  ASSERT_TRUE(write_random(fs.mnt() + "/f", 120000000, true).ok());
  expect_same_as_cli(fs.mnt());
}

TEST(BtrfsMgmtUsage, ResizeMaxGrowsToTheLoopCapacity) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("resize"));
  EXPECT_EQ(cli_devid_size(fs.mnt(), 1), 1ull << 30);
  ASSERT_EQ(truncate(fs.image(0).file().c_str(), 2ll << 30), 0);
  {
    int fd = open(fs.dev(0).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ioctl(fd, LOOP_SET_CAPACITY, 0), 0);
    close(fd);
  }
  json r = ok_json(sandboxed([&] { return json(bt::resize_max(fs.mnt(), kAllowAll)).dump(); }));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["old_size_bytes"], 1ull << 30);
  EXPECT_EQ(r[0]["new_size_bytes"], 2ull << 30);
  EXPECT_EQ(cli_devid_size(fs.mnt(), 1), 2ull << 30);
  expect_same_as_cli(fs.mnt());
  // Not a mount point: refused.
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::resize_max(fs.dir().path(), kAllowAll)).dump(); })), -32001);
}

TEST(BtrfsMgmtUsage, DefragWalksAndReducesFragmentation) {
  MOS_REQUIRE_ROOT();
  BtrfsOnLoops fs(1, 1ull << 30, {}, unique_label("defrag"));
  std::string d = fs.mnt() + "/dir/sub";
  ASSERT_TRUE(run_tool({"mkdir", "-p", d}).ok());
  // Two files written in alternating, synced 64 KiB pieces end up in many small extents.
  ASSERT_TRUE(run_sh("for i in $(seq 0 63); do "
                     "dd if=/dev/urandom of=" + d + "/a bs=64k count=1 seek=$i conv=notrunc,fsync status=none; "
                     "dd if=/dev/urandom of=" + fs.mnt() + "/dir/b bs=64k count=1 seek=$i conv=notrunc,fsync status=none; "
                     "done").ok());
  ASSERT_TRUE(run_sh("echo small > " + fs.mnt() + "/c && ln -s /etc/passwd " + fs.mnt() + "/link && sync").ok());
  int before_a = extents_of(d + "/a"), before_b = extents_of(fs.mnt() + "/dir/b");
  ASSERT_GT(before_a, 8);
  ASSERT_GT(before_b, 8);
  json r = ok_json(sandboxed([&] { return json(bt::defrag(fs.mnt(), kAllowAll)).dump(); }));
  ASSERT_FALSE(r.is_null());
  EXPECT_EQ(r["files_defragmented"], 3u);  // a, b, c; the symlink is not followed
  EXPECT_EQ(r["files_failed"], 0u);
  EXPECT_EQ(r["bytes"], 2 * 64 * 65536u + 6);
  run_tool({"sync"});
  EXPECT_LT(extents_of(d + "/a"), before_a / 4);
  EXPECT_LT(extents_of(fs.mnt() + "/dir/b"), before_b / 4);
  // Data unchanged, filesystem consistent.
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::defrag("/nonexistent-path", kAllowAll)).dump(); })), -32002);
  TempDir plain;
  EXPECT_EQ(err_code(sandboxed([&] { return json(bt::defrag(plain.path(), kAllowAll)).dump(); })), -32001);
}
