// mos_sysvol never formats what it cannot prove holds nothing (issue 18). A node is provisioned
// by mos_sysvol on a loop disk (512 and 4096-byte sectors), a file is written to
// /var/cache/system and one to /boot, everything is unmounted, then ONE damage is made and
// mos_sysvol runs again. Each case checks: nothing formatted (no "created"/"wrote GPT" in the
// report, the damaged region and every region mos_sysvol does not mount byte-identical, the
// filesystems it mounts keep their UUIDs and files), the exit status (0 whole, 2 ready but part
// of the layout out of service, 1 not ready) and the damage reported with what, where and its
// repair command. With [recovery] superblocks = "repair" the GPT cases come back whole, the
// repaired copy byte-equal to what it was before the damage, and the btrfs case comes back whole
// through the repair operation (engine::repair_superblock): its files read back, btrfs check clean.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>

#include "tests/integration/sysvol_support.hpp"
#include "tests/support/damage.hpp"

namespace mos::test {
namespace {

constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t MiB = 1ull << 20;

std::string part(const LoopImage& img, int n) { return img.dev() + "p" + std::to_string(n); }

// A node mos_sysvol provisioned, with a file on /var/cache/system and one on /boot.
struct Node {
  uint32_t sector = 512;
  std::vector<Region> regions;  // gpt-head, p1..p5, gpt-tail (in image bytes)
  std::string data_file_sha, boot_file_sha;
  std::map<int, std::string> uuid;  // blkid UUID of p3 and p5
};

// Mounts dev (with options) at a temporary directory for fn, then unmounts.
void with_mount(const std::string& dev, const std::string& options, const std::function<void(const std::string&)>& fn) {
  TempDir mnt;
  auto m = run_tool({"mount", "-o", options, dev, mnt.path()});
  ASSERT_TRUE(m.ok()) << "mount " << dev << ": " << m.err;
  {
    MountGuard guard(mnt.path());
    fn(mnt.path());
  }
  wait_idle(dev);
}

std::map<std::string, std::string> digests(const LoopImage& img, const Node& n) {
  return region_digests(img.file(), n.regions);
}

Node provision(const LoopImage& img, const SysvolEnv& env, uint32_t sector) {
  Node n;
  n.sector = sector;
  auto first = env.run(allow_list({&img}));
  EXPECT_EQ(first.exit_code, 0) << first.log;
  ::swapoff(part(img, 4).c_str());
  for (int p : {3, 5}) wait_idle(part(img, p));
  n.regions = gpt_regions(img.dev(), img.size(), sector);
  EXPECT_EQ(n.regions.size(), 7u);
  with_mount(part(img, 5), "subvol=system", [&](const std::string& m) {
    ASSERT_TRUE(write_random(m + "/precious.bin", 3 * MiB + 123, true).ok());
    n.data_file_sha = sha256_of(m + "/precious.bin");
  });
  with_mount(part(img, 3), "rw", [&](const std::string& m) {
    ASSERT_TRUE(write_random(m + "/vmlinuz-precious", 2 * MiB + 7, true).ok());
    n.boot_file_sha = sha256_of(m + "/vmlinuz-precious");
  });
  for (int p : {3, 5}) n.uuid[p] = blkid_probe(part(img, p))["UUID"];
  return n;
}

// The files written before the damage, read back through a read-only mount.
void expect_files(const LoopImage& img, const Node& n, bool data, bool boot) {
  if (data)
    with_mount(part(img, 5), "ro,subvol=system", [&](const std::string& m) {
      EXPECT_EQ(sha256_of(m + "/precious.bin"), n.data_file_sha);
    });
  if (boot)
    with_mount(part(img, 3), "ro", [&](const std::string& m) { EXPECT_EQ(sha256_of(m + "/vmlinuz-precious"), n.boot_file_sha); });
}

struct DamageCase {
  const char* name;
  const char* what;  // the damage, as the test states it
  std::function<void(const LoopImage&, const Node&)> damage;
  std::string region;      // the damaged region ("" when none is damaged as mos_sysvol can see)
  std::string part;        // Damage.part reported ("" when nothing is reported)
  int exit_report = 0;     // exit status with superblocks = "report"
  bool table = false;      // a GPT copy: "repair" brings the node back whole
  bool data_readable = true, boot_readable = true;  // readable by the kernel after the run (report mode)
};

const std::vector<DamageCase>& cases() {
  static const std::vector<DamageCase> c = {
      {"BtrfsPrimaryMagic", "8 bytes of MOSDATA's btrfs magic (partition 5, 64 KiB + 0x40) overwritten",
       [](const LoopImage& img, const Node&) { overwrite(part(img, 5), 64 * 1024 + 0x40, "XXXXXXXX"); },
       "p5", "MOSDATA (btrfs)", 1, false, false, true},
      {"DataFirstMiBZeroed", "MOSDATA's first MiB zeroed",
       [](const LoopImage& img, const Node&) { zero_range(part(img, 5), 0, MiB); }, "p5", "MOSDATA (btrfs)", 1, false,
       false, true},
      {"Ext4PrimarySuperblock", "MOSBOOT's ext4 primary superblock (1024 bytes at 1024) zeroed",
       [](const LoopImage& img, const Node&) { zero_range(part(img, 3), 1024, 1024); }, "p3", "MOSBOOT (ext4)", 1, false,
       true, false},
      {"FatBootSector", "MOSEFI's FAT32 boot sector (the first 512 bytes) zeroed",
       [](const LoopImage& img, const Node&) { zero_range(part(img, 2), 0, 512); }, "p2", "MOSEFI (vfat)", 2},
      {"GptPrimaryHeader", "the primary GPT header (LBA 1) zeroed",
       [](const LoopImage& img, const Node& n) { zero_range(img.dev(), n.sector, n.sector); }, "gpt-head",
       "GPT primary header and entries", 2, true},
      {"GptBackupHeader", "the backup GPT header (the last LBA) zeroed",
       [](const LoopImage& img, const Node& n) { zero_range(img.dev(), img.size() - n.sector, n.sector); }, "gpt-tail",
       "GPT backup header and entries", 2, true},
      // The middle of a 1 GiB ext4 holds its journal (placed there as mke2fs does): its superblocks
      // are intact, so only the kernel's mount can tell, and refuses it.
      {"PartitionMiddleZeroed", "4 MiB in the middle of MOSBOOT (its journal) zeroed",
       [](const LoopImage& img, const Node&) { zero_range(part(img, 3), 512 * MiB, 4 * MiB); }, "p3", "", 1, false, true,
       false},
  };
  return c;
}

struct Param {
  size_t index;
  uint32_t sector;
  bool repair;
};

// The test name says it all; without this gtest prints the struct's bytes, padding included.
void PrintTo(const Param& p, std::ostream* os) {
  *os << cases()[p.index].name << " " << p.sector << (p.repair ? " repair" : " report");
}

class SysvolDamage : public ::testing::TestWithParam<Param> {};

TEST_P(SysvolDamage, NothingFormattedDamageReported) {
  MOS_REQUIRE_ROOT();
  const Param prm = GetParam();
  const DamageCase& dc = cases()[prm.index];
  RecordProperty("damage", dc.what);
  LoopImage img(8 * GiB, prm.sector);
  SwapGuard swap(part(img, 4));
  SysvolEnv env(prm.repair ? "[recovery]\nsuperblocks = \"repair\"\n" : "");
  Node node = provision(img, env, prm.sector);
  ASSERT_FALSE(HasFailure());
  const auto healthy = digests(img, node);
  dc.damage(img, node);
  const auto before = digests(img, node);

  auto r = env.run(allow_list({&img}));
  ::swapoff(part(img, 4).c_str());
  for (int p : {3, 5}) wait_idle(part(img, p));
  ASSERT_FALSE(r.report.is_null()) << r.log;
  EXPECT_EQ(r.report["mode"], "existing") << r.report.dump(2);
  for (const auto& d : r.report["done"]) {
    EXPECT_EQ(d.get<std::string>().find("created"), std::string::npos) << d;
    EXPECT_EQ(d.get<std::string>().find("wrote GPT"), std::string::npos) << d;
  }
  EXPECT_EQ(r.report["exit_status"], r.exit_code);
  const bool repaired = prm.repair && (dc.table || std::string(dc.name) == "BtrfsPrimaryMagic");
  const auto after = digests(img, node);

  if (dc.part.empty()) {
    EXPECT_TRUE(r.report.at("damage").empty()) << r.report.dump(2);
    EXPECT_NE(r.log.find("mount " + part(img, 3)), std::string::npos) << "the refused mount is said\n" << r.log;
  } else {
    ASSERT_EQ(r.report.at("damage").size(), 1u) << r.report.dump(2);
    const auto& d = r.report["damage"][0];
    EXPECT_EQ(d["part"], dc.part);
    EXPECT_EQ(d["device"], dc.table ? img.dev() : part(img, std::stoi(dc.region.substr(1))));
    EXPECT_FALSE(d.at("reason").get<std::string>().empty());
    EXPECT_EQ(d["reason"].get<std::string>().find("never written"), std::string::npos) << "damaged is not blank: " << d;
    EXPECT_NE(r.log.find("DAMAGED: " + dc.part), std::string::npos) << r.log;
    if (dc.table) {
      EXPECT_EQ(d["repair"], "mos-volmgr repair-partition-table --disk " + img.dev());
      EXPECT_NE(d["reason"].get<std::string>().find("copy is valid"), std::string::npos) << d;
    }
    const std::string action = d["action"];
    EXPECT_EQ(action.rfind(repaired ? "repaired: " : "reported", 0), 0u) << d;
  }
  // Nothing mos_sysvol does not mount was written; a repaired GPT copy is what it was.
  for (const char* untouched : {"gpt-head", "gpt-tail", "p1", "p2", "p4"})
    EXPECT_EQ(after.at(untouched), repaired && dc.region == untouched ? healthy.at(untouched) : before.at(untouched))
        << untouched;
  if ((dc.region == "p3" || dc.region == "p5") && !repaired) {
    EXPECT_EQ(after.at(dc.region), before.at(dc.region)) << "damaged " << dc.region << " was written";
  }
  if (repaired) {
    EXPECT_EQ(r.exit_code, 0) << r.log;
    EXPECT_TRUE(sgdisk_verify(img.dev()).clean);
    EXPECT_TRUE(r.report.at("not_in_service").empty()) << r.report.dump(2);
  } else {
    EXPECT_EQ(r.exit_code, dc.exit_report) << r.log;
    EXPECT_EQ(r.report.at("not_in_service").empty(), dc.exit_report == 0) << r.report.dump(2);
  }
  for (int p : {3, 5}) {
    bool readable = p == 3 ? dc.boot_readable : dc.data_readable || repaired;
    if (readable) {
      EXPECT_EQ(blkid_probe(part(img, p))["UUID"], node.uuid[p]) << "partition " << p << " was reformatted";
    }
  }
  if (repaired && dc.region == "p5") {  // the superblock repair: btrfs's own checker agrees
    auto check = run_btrfs_check({"btrfs", "check", "--readonly", part(img, 5)});
    EXPECT_TRUE(check.ok()) << check.out << check.err;
  }
  expect_files(img, node, dc.data_readable || repaired, dc.boot_readable);
}

std::vector<Param> params() {
  std::vector<Param> out;
  for (uint32_t s : {512u, 4096u})
    for (size_t i = 0; i < cases().size(); ++i) {
      out.push_back({i, s, false});
      if (cases()[i].table || std::string(cases()[i].name) == "BtrfsPrimaryMagic") out.push_back({i, s, true});
    }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, SysvolDamage, ::testing::ValuesIn(params()), [](const auto& info) {
  return std::string(cases()[info.param.index].name) + "_" + std::to_string(info.param.sector) +
         (info.param.repair ? "_Repair" : "_Report");
});

// A disk with our partition names and types but no provisioning record is a complete node
// with something wrong: its wholly zeroed MOSDATA is reported, never provisioned again.
TEST(SysvolDamageNoRecord, ZeroedDataIsNotProvisioned) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SwapGuard swap(part(img, 4));
  SysvolEnv env;
  Node node = provision(img, env, 512);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(run_tool({"blkdiscard", part(img, 5)}).ok()) << "zeroes MOSDATA (punches the image)";
  ASSERT_TRUE(run_sh("cmp -n 1048576 " + part(img, 5) + " /dev/zero").ok());
  const auto before = digests(img, node);
  auto r = env.run(allow_list({&img}));
  ::swapoff(part(img, 4).c_str());
  wait_idle(part(img, 3));
  EXPECT_EQ(r.exit_code, 1) << r.log;
  EXPECT_EQ(r.report["mode"], "existing") << r.report.dump(2);
  for (const auto& d : r.report["done"]) EXPECT_EQ(d.get<std::string>().find("created"), std::string::npos) << d;
  ASSERT_EQ(r.report.at("damage").size(), 1u) << r.report.dump(2);
  EXPECT_EQ(r.report["damage"][0]["device"], part(img, 5));
  EXPECT_NE(r.report["damage"][0]["reason"].get<std::string>().find("never written"), std::string::npos);
  const auto after = digests(img, node);
  for (const char* untouched : {"gpt-head", "gpt-tail", "p1", "p2", "p4", "p5"}) EXPECT_EQ(after.at(untouched), before.at(untouched)) << untouched;
  expect_files(img, node, false, true);
}

}  // namespace
}  // namespace mos::test
