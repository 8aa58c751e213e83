// mos_sysvol on two-disk nodes after a disk went wrong, and with two MOS installations in sight
// (issue 18 item 6), booted for real: md RAID1 and a btrfs RAID1 need the guest kernel. Each test
// states the disks it gives the guest and what it checks on the images afterwards.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <map>
#include <vector>

#include "mdraid/md_structs.hpp"
#include "mdraid/superblock.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/damage.hpp"
#include "tests/vm/replay_judge.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t kFileBytes = 1 * MiB + 4321;
const char* kFile = "/var/cache/system/precious";

json mdstat_step() { return {{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}}; }

// A first boot on these disks that also writes a seeded file to /var/cache/system.
void first_boot(const std::string& name, const std::vector<VmDisk>& disks, uint64_t seed) {
  json steps = {sysvol_step(), write_step(kFile, kFileBytes, seed), op_step("sync")};
  VmResult r = run_vm(sysvol_spec(name, disks, steps));
  expect_all_steps_ok(r, steps.size());
  EXPECT_EQ(report_of(r, 0).value("mode", ""), "fresh") << report_of(r, 0).dump(2);
}

bool done_writes_nothing(const json& report) {
  for (const auto& d : report.value("done", json::array())) {
    const std::string s = d.get<std::string>();
    if (s.find("created") != std::string::npos || s.find("wrote GPT") != std::string::npos) return false;
  }
  return true;
}

bool skipped(const json& report, const std::string& what, const std::string& why_part) {
  for (const auto& s : report.value("skipped", json::array()))
    if (s.value("what", "").find(what) != std::string::npos && s.value("why", "").find(why_part) != std::string::npos) return true;
  return false;
}

// Disk b of a two-disk node is replaced by a blank disk: the node boots degraded from a (exit 2,
// the file reads back), the blank disk is reported and not written at all.
TEST(VmSysvolTwoDisks, BlankReplacementBootsDegradedAndIsNotAdded) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img", c = dir / "c.img";
  first_boot("sysvol_pair", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, 11);
  ASSERT_FALSE(HasFailure());
  ASSERT_TRUE(test::run_tool({"truncate", "-s", "8G", c}).ok());
  const std::string blank = test::sparse_digest(c);
  json steps = {sysvol_step({}, json::object(), 2), mounts_step(), mdstat_step(), read_step(kFile, kFileBytes, 11)};
  VmResult r = run_vm(sysvol_spec("sysvol_blank_partner", {{a, 8 * GiB, 512}, {c, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(r, steps.size());
  const json& rep = report_of(r, 0);
  EXPECT_EQ(rep.value("mode", ""), "existing") << rep.dump(2);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("degraded", false), true) << rep.dump(2);
  EXPECT_TRUE(rep.value("plan", json::array()).empty()) << rep.dump(2);
  EXPECT_TRUE(done_writes_nothing(rep)) << rep.dump(2);
  EXPECT_TRUE(skipped(rep, "/dev/vdb", "never provisions or adds")) << rep.dump(2);
  ASSERT_NE(r.step(2), nullptr);
  EXPECT_NE(r.step(2)->value("text", "").find("md_mosboot : active raid1"), std::string::npos) << r.step(2)->dump();
  EXPECT_EQ(test::sparse_digest(c), blank) << "the blank disk was written";
}

// MOSDATA's btrfs magic on disk b overwritten: the node boots degraded from a's member, the damage
// is reported (device, part, reason), b's data partition is not written, the file reads back.
TEST(VmSysvolTwoDisks, OneDataPartitionDamagedBootsDegradedFromTheOther) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img";
  first_boot("sysvol_pair", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, 12);
  ASSERT_FALSE(HasFailure());
  json parts = partitions_of(b);
  ASSERT_EQ(parts.size(), 5u);
  const test::Region data{"p5", parts[4]["start"].get<uint64_t>() * 512, parts[4]["size"].get<uint64_t>() * 512};
  test::overwrite(b, data.offset + 64 * 1024 + 0x40, "XXXXXXXX");
  const std::string before = test::region_digest(b, data);
  json steps = {sysvol_step({}, json::object(), 2), mounts_step(), read_step(kFile, kFileBytes, 12)};
  VmResult r = run_vm(sysvol_spec("sysvol_pair_damaged", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(r, steps.size());
  const json& rep = report_of(r, 0);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("degraded", false), true) << rep.dump(2);
  EXPECT_TRUE(done_writes_nothing(rep)) << rep.dump(2);
  ASSERT_EQ(rep.value("damage", json::array()).size(), 1u) << rep.dump(2);
  EXPECT_EQ(rep["damage"][0]["device"], "/dev/vdb5");
  EXPECT_EQ(rep["damage"][0]["part"], "MOSDATA (btrfs)");
  ASSERT_NE(r.step(0), nullptr);
  EXPECT_NE(r.step(0)->value("stderr", "").find("DAMAGED: MOSDATA"), std::string::npos);
  EXPECT_EQ(test::region_digest(b, data), before) << "the damaged member was written";
}

// The v1.2 member at `member_start` marked as a power loss during a write leaves it (resync_offset
// 0: the kernel resyncs the array when it runs writable), its checksum made valid again.
void mark_md12_dirty(const std::string& image, uint64_t member_start) {
  io::Fd fd = io::Fd::open(image, O_RDWR);
  std::vector<uint8_t> sb(mdraid::kSuperblockReadBytes);
  fd.pread_exact(sb.data(), sb.size(), member_start + 4096);
  std::memset(sb.data() + offsetof(mdraid::disk::Super1, resync_offset), 0, 8);
  const uint32_t csum = mdraid::checksum_1(sb);
  for (int i = 0; i < 4; ++i) sb[offsetof(mdraid::disk::Super1, sb_csum) + i] = static_cast<uint8_t>(csum >> (8 * i));
  fd.pwrite_exact(sb.data(), sb.size(), member_start + 4096);
  fd.fsync();
}

// MOSBOOT's ext4 magic overwritten inside md_mosboot on both members (a mirrored bad write) and
// both members left dirty (a power loss while md wrote): the array is judged read-only, reported
// damaged and stopped; /boot is missing, so the boot is not ready (exit 1). md wrote nothing to
// either member: no resync and no superblock update (started writable, md resyncs a dirty array
// at once: a boot that does not use an array must not let md write to it).
TEST(VmSysvolTwoDisks, ArrayWithDamagedContentIsJudgedReadOnlyItsMembersNotWritten) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img";
  first_boot("sysvol_pair", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, 13);
  ASSERT_FALSE(HasFailure());
  std::map<std::string, std::string> before;
  std::map<std::string, test::Region> member;
  for (const auto& img : {a, b}) {
    json parts = partitions_of(img);
    ASSERT_EQ(parts.size(), 5u);
    member[img] = {"p3", parts[2]["start"].get<uint64_t>() * 512, parts[2]["size"].get<uint64_t>() * 512};
    const uint64_t ext4 = member[img].offset + md12_data_offset(img, member[img].offset);
    test::overwrite(img, ext4 + 1024 + 0x38, "XX");  // s_magic 0xEF53
    mark_md12_dirty(img, member[img].offset);
    before[img] = test::region_digest(img, member[img]);
  }
  json steps = {sysvol_step({}, json::object(), 1)};
  VmResult r = run_vm(sysvol_spec("sysvol_pair_boot_damaged", {{a, 8 * GiB, 512}, {b, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(r, steps.size());
  const json& rep = report_of(r, 0);
  EXPECT_EQ(rep.value("ready", true), false) << rep.dump(2);
  EXPECT_TRUE(done_writes_nothing(rep)) << rep.dump(2);
  ASSERT_EQ(rep.value("damage", json::array()).size(), 1u) << rep.dump(2);
  EXPECT_EQ(rep["damage"][0]["device"], "/dev/md_mosboot") << rep.dump(2);
  EXPECT_EQ(rep["damage"][0]["part"], "MOSBOOT (ext4)") << rep.dump(2);
  for (const auto& img : {a, b}) EXPECT_EQ(test::region_digest(img, member[img]), before[img]) << img << ": md_mosboot's member was written";
}

std::string data_fsid(const std::string& image) {
  json parts = partitions_of(image);
  if (parts.size() != 5) return {};
  PartitionLoop p(image, parts[4]["start"].get<uint64_t>() * 512, parts[4]["size"].get<uint64_t>() * 512);
  return test::blkid_probe(p.dev())["UUID"];
}

// A disk of another MOS node next to this one's (same labels, another MOSDATA fsid): mos_sysvol
// refuses and writes neither; with [storage] data_fsid naming one, that one comes up (its file
// reads back) and the other is left as it is.
TEST(VmSysvolTwoInstallations, RefusedUnlessDataFsidNamesOne) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string x = dir / "x.img", y = dir / "y.img";
  first_boot("sysvol_node_x", {{x, 8 * GiB, 512}}, 21);
  first_boot("sysvol_node_y", {{y, 8 * GiB, 512}}, 22);
  ASSERT_FALSE(HasFailure());
  const std::string dx = test::sparse_digest(x), dy = test::sparse_digest(y);
  const std::string fsid_y = data_fsid(y);
  ASSERT_EQ(fsid_y.size(), 36u);
  ASSERT_NE(data_fsid(x), fsid_y);

  json steps = {sysvol_step({}, json::object(), 1), mounts_step()};
  VmResult refused = run_vm(sysvol_spec("sysvol_two_nodes", {{x, 8 * GiB, 512}, {y, 8 * GiB, 512}}, steps));
  expect_all_steps_ok(refused, steps.size());
  const json& rep = report_of(refused, 0);
  EXPECT_EQ(rep.value("ready", true), false) << rep.dump(2);
  std::string errors = rep.value("errors", json::array()).dump();
  EXPECT_NE(errors.find("two or more MOS installations"), std::string::npos) << rep.dump(2);
  EXPECT_NE(errors.find("data_fsid"), std::string::npos) << rep.dump(2);
  ASSERT_NE(refused.step(1), nullptr);
  EXPECT_EQ(refused.step(1)->value("text", "").find("/var/cache/system"), std::string::npos) << "nothing mounted";
  EXPECT_EQ(test::sparse_digest(x), dx);
  EXPECT_EQ(test::sparse_digest(y), dy);

  json chosen_steps = {sysvol_step(), mounts_step(), read_step(kFile, kFileBytes, 22)};
  VmSpec spec = sysvol_spec("sysvol_two_nodes_named", {{x, 8 * GiB, 512}, {y, 8 * GiB, 512}}, chosen_steps);
  spec.extra_files["/etc/mos_sysvol.toml"] = "[storage]\ndata_fsid = \"" + fsid_y + "\"\n";
  VmResult chosen = run_vm(spec);
  expect_all_steps_ok(chosen, chosen_steps.size());
  const json& rep2 = report_of(chosen, 0);
  EXPECT_EQ(rep2.value("ready", false), true) << rep2.dump(2);
  EXPECT_TRUE(done_writes_nothing(rep2)) << rep2.dump(2);
  EXPECT_TRUE(skipped(rep2, "/dev/vda", "another MOS installation")) << rep2.dump(2);
  EXPECT_EQ(test::sparse_digest(x), dx) << "the other installation was written";
}

}  // namespace
}  // namespace mos::vmtest
