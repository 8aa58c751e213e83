// storage.feasible_topologies and `mos-volmgr topologies` on loop sets of different shapes,
// through the real daemon (sandboxed, exact allow-list). The disk classes are what the kernel
// reports: each test sets queue/rotational on its own loop devices. Whether the kernel has
// bcachefs is read here from /proc/filesystems and modules.dep, independently of the engine.
// Also: create_filesystem with fstype bcachefs is refused with -32000 and writes nothing.
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <fstream>
#include <map>
#include <sstream>

#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
using nlohmann::json;

void set_rotational(const LoopImage& img, bool rotational) {
  std::string name = img.dev().substr(img.dev().rfind('/') + 1);
  std::ofstream(("/sys/block/" + name + "/queue/rotational").c_str()) << (rotational ? "1" : "0");
  std::ifstream in("/sys/block/" + name + "/queue/rotational");
  int now = -1;
  in >> now;
  ASSERT_EQ(now, rotational ? 1 : 0) << "cannot set rotational on " << img.dev();
}

bool kernel_has(const std::string& fs) {
  std::ifstream proc("/proc/filesystems");
  std::string line;
  while (std::getline(proc, line))
    if (line.size() > fs.size() && line.compare(line.size() - fs.size() - 1, fs.size() + 1, "\t" + fs) == 0) return true;
  utsname u{};
  uname(&u);
  std::ifstream dep(std::string("/lib/modules/") + u.release + "/modules.dep");
  std::stringstream all;
  all << dep.rdbuf();
  return all.str().find("/" + fs + ".ko") != std::string::npos;
}

std::string allow(std::initializer_list<const LoopImage*> imgs) {
  std::string s;
  for (auto* i : imgs) s += (s.empty() ? "" : ",") + i->dev() + "," + i->dev() + "p*";
  return s;
}

const json& topology(const json& r, const std::string& name) {
  for (const auto& t : r["topologies"])
    if (t["name"] == name) return t;
  static const json none;
  ADD_FAILURE() << "no topology " << name << " in " << r.dump();
  return none;
}

bool mentions(const json& t, const std::string& text) {
  for (const auto& r : t["reasons"])
    if (r.get<std::string>().find(text) != std::string::npos) return true;
  return false;
}

void expect_bcachefs_judged_by_kernel(const json& r) {
  bool has = kernel_has("bcachefs");
  EXPECT_EQ(r["kernel"]["bcachefs"], has);
  EXPECT_EQ(r["kernel"]["btrfs"], kernel_has("btrfs"));
  if (!has)
    for (const char* name : {"BcachefsSingle", "SsdHddBcachefs", "Bcachefs2Copy"}) {
      EXPECT_FALSE(topology(r, name)["feasible"]) << name;
      EXPECT_TRUE(mentions(topology(r, name), "kernel has no bcachefs")) << topology(r, name).dump();
    }
}

TEST(Topologies, OneBlankDisk) {
  MOS_REQUIRE_ROOT();
  LoopImage a(8 * GiB);  // the MOS layout with default sizes needs 8 GiB
  set_rotational(a, false);
  SandboxedDaemon d(allow({&a}));
  ASSERT_TRUE(d.ready());
  json r = d.cli_json({"topologies"});
  ASSERT_EQ(r["topologies"].size(), 6u) << r.dump();
  ASSERT_EQ(r["candidates"].size(), 1u) << r.dump();
  EXPECT_EQ(r["candidates"][0]["path"], a.dev());
  EXPECT_EQ(r["candidates"][0]["media"], "ssd");
  EXPECT_EQ(r["candidates"][0]["size_bytes"], 8 * GiB);
  const json& single = topology(r, "BtrfsSingle");
  EXPECT_EQ(single["feasible"], kernel_has("btrfs")) << single.dump();
  EXPECT_EQ(single["disks"], json::array({a.dev()}));
  for (const char* name : {"DualIndependent", "Bcachefs2Copy", "BtrfsRaid1"}) {
    EXPECT_FALSE(topology(r, name)["feasible"]) << name;
    EXPECT_TRUE(mentions(topology(r, name), "needs 2 free disks, found 1")) << topology(r, name).dump();
  }
  EXPECT_TRUE(mentions(topology(r, "SsdHddBcachefs"), "needs a free HDD"));
  expect_bcachefs_judged_by_kernel(r);
  // The human table names every template.
  ToolResult human = d.cli({"topologies"});
  ASSERT_TRUE(human.ok()) << human.err;
  for (const char* name : {"BtrfsSingle", "BcachefsSingle", "DualIndependent", "SsdHddBcachefs", "Bcachefs2Copy", "BtrfsRaid1"})
    EXPECT_NE(human.out.find(name), std::string::npos) << human.out;
}

TEST(Topologies, SsdAndHddPair) {
  MOS_REQUIRE_ROOT();
  LoopImage ssd(8 * GiB), hdd(10 * GiB);
  set_rotational(ssd, false);
  set_rotational(hdd, true);
  SandboxedDaemon d(allow({&ssd, &hdd}));
  ASSERT_TRUE(d.ready());
  json r = d.cli_json({"topologies"});
  ASSERT_EQ(r["candidates"].size(), 2u) << r.dump();
  EXPECT_EQ(r["candidates"][0]["path"], hdd.dev());  // largest first
  EXPECT_EQ(r["candidates"][0]["media"], "hdd");
  EXPECT_EQ(r["candidates"][1]["media"], "ssd");
  const json& raid1 = topology(r, "BtrfsRaid1");
  EXPECT_TRUE(raid1["feasible"]) << raid1.dump();
  EXPECT_EQ(raid1["disks"], json::array({hdd.dev(), ssd.dev()}));
  EXPECT_EQ(raid1["usable_bytes"], 8 * GiB);
  EXPECT_EQ(topology(r, "DualIndependent")["usable_bytes"], 18 * GiB);
  const json& tiered = topology(r, "SsdHddBcachefs");
  EXPECT_FALSE(mentions(tiered, "needs a free")) << tiered.dump();  // both classes are there
  if (kernel_has("bcachefs")) {
    EXPECT_EQ(tiered["disks"], json::array({ssd.dev(), hdd.dev()}));
  }
  expect_bcachefs_judged_by_kernel(r);
}

TEST(Topologies, UsedAndTooSmallDisksAreNotCandidates) {
  MOS_REQUIRE_ROOT();
  LoopImage blank(8 * GiB), used(8 * GiB), tiny(4 * GiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-L", "SOMEDATA", used.dev()}).ok());
  ASSERT_EQ(run_tool({"blkid", "-p", "-s", "TYPE", "-o", "value", used.dev()}).out, "ext4\n");
  SandboxedDaemon d(allow({&blank, &used, &tiny}));
  ASSERT_TRUE(d.ready());
  json r = d.cli_json({"topologies"});
  ASSERT_EQ(r["candidates"].size(), 1u) << r.dump();
  EXPECT_EQ(r["candidates"][0]["path"], blank.dev());
  std::map<std::string, std::string> why;
  for (const auto& n : r["not_candidates"]) why[n["path"]] = n["reason"];
  EXPECT_NE(why[used.dev()].find("ext4"), std::string::npos) << r.dump();
  EXPECT_NE(why[tiny.dev()].find("too small"), std::string::npos) << r.dump();
  EXPECT_FALSE(topology(r, "BtrfsRaid1")["feasible"]);
  EXPECT_TRUE(mentions(topology(r, "BtrfsRaid1"), "found 1"));
  // Judging changed nothing.
  EXPECT_EQ(run_tool({"blkid", "-p", "-s", "LABEL", "-o", "value", used.dev()}).out, "SOMEDATA\n");
}

TEST(Topologies, ThreeDisksPickTwoOfOneClass) {
  MOS_REQUIRE_ROOT();
  LoopImage big_ssd(12 * GiB), hdd1(10 * GiB), hdd2(8 * GiB);
  set_rotational(big_ssd, false);
  set_rotational(hdd1, true);
  set_rotational(hdd2, true);
  SandboxedDaemon d(allow({&big_ssd, &hdd1, &hdd2}));
  ASSERT_TRUE(d.ready());
  json r = d.cli_json({"topologies"});
  ASSERT_EQ(r["candidates"].size(), 3u) << r.dump();
  // mos_sysvol's rule: the two largest of one class, not the two largest overall.
  EXPECT_EQ(topology(r, "BtrfsRaid1")["disks"], json::array({hdd1.dev(), hdd2.dev()}));
  EXPECT_EQ(topology(r, "BtrfsSingle")["disks"], json::array({big_ssd.dev()}));
}

TEST(Bcachefs, CreateFilesystemRefusedAsStorageFailureWritingNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB);
  std::string before = sha256_of(img.dev());
  SandboxedDaemon d(allow({&img}));
  ASSERT_TRUE(d.ready());
  rpc::Client c(d.socket());
  auto [code, message] = rpc_error(c, "storage.create_filesystem", {{"device", img.dev()}, {"fstype", "bcachefs"}, {"label", "X"}});
  EXPECT_EQ(code, -32000) << message;
  EXPECT_NE(message.find("no native bcachefs writer"), std::string::npos) << message;
  if (!kernel_has("bcachefs")) {
    EXPECT_NE(message.find("kernel has no bcachefs"), std::string::npos) << message;
  }
  EXPECT_EQ(sha256_of(img.dev()), before);
  // An unknown fstype is still a parameter error.
  EXPECT_EQ(rpc_error(c, "storage.create_filesystem", {{"device", img.dev()}, {"fstype", "zfs"}, {"label", "X"}}).first, -32602);
  ToolResult cli = d.cli({"create-filesystem", "--device", img.dev(), "--fstype", "bcachefs", "--label", "X"});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.err.find("bcachefs"), std::string::npos) << cli.err;
}

}  // namespace
}  // namespace mos::test
