// md superblocks we write, judged by mdadm (--examine, --examine --export, --examine-bitmap)
// and blkid -p, on loop members with 512- and 4096-byte sectors; and our parser judged against
// what mdadm prints for the same bytes. The host kernel has no md driver: mdadm only reads.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "engine/apply_plan.hpp"
#include "fsmake/probe/probe.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "mdraid/superblock.hpp"
#include "tests/support/harness.hpp"
#include "base/text.hpp"
#include "base/uuid.hpp"

namespace mos::test {
namespace {

using mdraid::Metadata;
constexpr uint64_t MiB = 1ull << 20;
const mdraid::Uuid kArrayUuid = {0x6d, 0x6f, 0x73, 0x62, 0x6f, 0x6f, 0x74, 0x2d,
                                 0x72, 0x61, 0x69, 0x64, 0x31, 0x00, 0x00, 0x42};
constexpr uint64_t kCtime = 1764201600;  // 2025-11-27 00:00:00 UTC

// "Key : value" lines of mdadm --examine / -X (value up to two spaces, e.g. "(local to ...)").
std::map<std::string, std::string> colon_fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(" : ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(0, key.find_first_not_of(' '));
    std::string value = line.substr(colon + 3);
    out[key] = value;
  }
  return out;
}

std::map<std::string, std::string> export_fields(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// Leading unsigned number of an mdadm value ("2093056 sectors (1022.00 MiB ...)" -> 2093056).
uint64_t leading_number(const std::string& v) {
  size_t i = 0;
  while (i < v.size() && v[i] == ' ') ++i;
  return std::stoull(v.substr(i));
}

struct Case {
  Metadata metadata;
  uint32_t sector;
  bool bitmap;
  bool degraded;  // one member + missing
};

std::string case_name(const ::testing::TestParamInfo<Case>& p) {
  std::string n = p.param.metadata == Metadata::v0_90 ? "v090" : "v12";
  n += "_" + std::to_string(p.param.sector);
  if (p.param.bitmap) n += "_bitmap";
  if (p.param.degraded) n += "_degraded";
  return n;
}

class MdExamine : public ::testing::TestWithParam<Case> {};

TEST_P(MdExamine, MdadmAndBlkidAgreeWithWhatWeWrote) {
  MOS_REQUIRE_ROOT();
  const Case c = GetParam();
  // Unequal members: the component size comes from the smaller one.
  LoopImage a(64 * MiB + 192 * 1024, c.sector), b(64 * MiB, c.sector);
  std::vector<const LoopImage*> imgs{&a};
  if (!c.degraded) imgs.push_back(&b);

  mdraid::ArraySpec spec;
  spec.metadata = c.metadata;
  spec.uuid = kArrayUuid;
  spec.name = "mosboot";
  spec.ctime = kCtime;
  spec.clean = true;
  spec.bitmap = c.bitmap;
  spec.events = 3;
  spec.md_minor = 0;

  // Write every member from a sandboxed child (execve denied), sizes from the kernel.
  SandboxResult r = run_sandboxed([&] {
    std::vector<io::Fd> fds;
    std::vector<mdraid::MemberSpec> members;
    for (size_t i = 0; i < imgs.size(); ++i) {
      fds.push_back(io::Fd::open(imgs[i]->dev(), O_RDWR | O_EXCL));
      auto facts = io::block_facts(fds.back());
      auto [maj, min] = io::block_devnum(fds.back());
      mdraid::MemberSpec m;
      m.size_bytes = facts.size_bytes;
      m.logical_sector_size = facts.logical_sector_size;
      m.role = static_cast<uint32_t>(i);
      m.device_uuid = mos::random_uuid();
      m.major = maj, m.minor = min;
      members.push_back(m);
    }
    auto g = mdraid::plan_geometry(spec, members);
    for (size_t i = 0; i < fds.size(); ++i)
      engine::apply_plan(fds[i], mdraid::plan_member(spec, g, members, i));
    return std::string("ok");
  });
  ASSERT_TRUE(r.ok) << r.text;

  const bool v12 = c.metadata == Metadata::v1_2;
  const uint64_t smallest = c.degraded ? a.size() : b.size();
  for (size_t i = 0; i < imgs.size(); ++i) {
    const std::string& dev = imgs[i]->dev();
    SCOPED_TRACE(dev);
    io::Fd fd = io::Fd::open(dev, O_RDONLY);
    const uint64_t size = io::block_facts(fd).size_bytes;
    auto parsed = mdraid::read_superblock(fd, size);
    ASSERT_TRUE(parsed) << "our parser finds no md superblock";
    const mdraid::Superblock& sb = *parsed;

    ToolResult ex = run_tool({"mdadm", "--examine", dev});
    ASSERT_TRUE(ex.ok()) << ex.out << ex.err;
    auto f = colon_fields(ex.out);
    ToolResult exp = run_tool({"mdadm", "--examine", "--export", dev});
    ASSERT_TRUE(exp.ok()) << exp.out << exp.err;
    auto e = export_fields(exp.out);

    // What we asked for, as mdadm reads it.
    EXPECT_EQ(f["Version"], v12 ? "1.2" : "0.90.00");
    EXPECT_EQ(f["Raid Level"], "raid1");
    EXPECT_EQ(e["MD_LEVEL"], "raid1");
    EXPECT_EQ(f["Raid Devices"], "2");
    EXPECT_EQ(e["MD_DEVICES"], "2");
    EXPECT_EQ(f[v12 ? "Array UUID" : "UUID"], "6d6f7362:6f6f742d:72616964:31000042");
    EXPECT_EQ(e["MD_UUID"], "6d6f7362:6f6f742d:72616964:31000042");
    EXPECT_EQ(f["State"], "clean");
    EXPECT_EQ(f["Events"], "3");
    EXPECT_EQ(e["MD_EVENTS"], "3");
    EXPECT_NE(f["Checksum"].find(" - correct"), std::string::npos) << f["Checksum"];
    if (v12) {
      EXPECT_EQ(f["Name"], "mosboot");
      EXPECT_EQ(e["MD_NAME"], "mosboot");
      EXPECT_EQ(e["MD_UPDATE_TIME"], std::to_string(kCtime));
      EXPECT_EQ(f["Device Role"], "Active device " + std::to_string(i));
      EXPECT_EQ(f["Array State"].substr(0, 2), c.degraded ? "A." : "AA");
      // mdadm's rule for 64 MiB (131072 sectors): headroom 128, 24 + 8 + 128 -> 1 MiB.
      EXPECT_EQ(f["Data Offset"], "2048 sectors");
      EXPECT_EQ(f["Super Offset"], "8 sectors");
      // Avail = member - data offset; used = smallest member's room, 64 KiB-rounded.
      EXPECT_EQ(leading_number(f["Avail Dev Size"]), size / 512 - 2048);
      const uint64_t used = (smallest / 512 - 2048) & ~uint64_t{127};
      if (size / 512 - 2048 == used)
        EXPECT_EQ(f.count("Used Dev Size"), 0u) << "mdadm prints it only when it differs";
      else
        EXPECT_EQ(leading_number(f["Used Dev Size"]), used);
      EXPECT_EQ(leading_number(f["Array Size"]), used / 2) << "KiB";
      EXPECT_EQ(f["Bad Block Log"], "512 entries available at offset 16 sectors");
      if (c.bitmap) {
        EXPECT_EQ(f["Internal Bitmap"], "8 sectors from superblock");
      }
      EXPECT_EQ(f.count("Internal Bitmap"), c.bitmap ? 1u : 0u);
    } else {
      // 0.90: data from byte 0 up to the superblock; size in KiB.
      const uint64_t used_kib = ((smallest & ~(64 * 1024 - 1)) - 64 * 1024) / 1024 & ~uint64_t{63};
      EXPECT_EQ(leading_number(f["Used Dev Size"]), used_kib);
      EXPECT_EQ(leading_number(f["Array Size"]), used_kib);
      EXPECT_EQ(f["Total Devices"], "2");
      EXPECT_EQ(f["Preferred Minor"], "0");
      EXPECT_EQ(f["Active Devices"], c.degraded ? "1" : "2");
      EXPECT_EQ(f["Failed Devices"], c.degraded ? "1" : "0");
      EXPECT_EQ(f["Spare Devices"], "0");
      EXPECT_EQ(f.count("Internal Bitmap"), c.bitmap ? 1u : 0u);
      auto [maj, min] = io::block_devnum(fd);
      char row[128];  // mdadm's disk table: "this" row, then the missing slot
      std::snprintf(row, sizeof row, "this %5zu   %5u    %5u    %5zu      active sync", i, maj, min,
                    i);
      EXPECT_NE(ex.out.find(row), std::string::npos) << row << "\n" << ex.out;
      if (c.degraded) {
        std::snprintf(row, sizeof row, "%4d %5d   %5d    %5d    %5d      faulty removed", 1, 1, 0,
                      0, 1);
        EXPECT_NE(ex.out.find(row), std::string::npos) << row << "\n" << ex.out;
      }
    }

    // Parse direction: our parser against mdadm's text for the same bytes.
    EXPECT_TRUE(sb.checksum_ok);
    EXPECT_EQ(mdraid::mdadm_uuid_text(sb.array_uuid), e["MD_UUID"]);
    EXPECT_EQ(std::to_string(sb.events), f["Events"]);
    EXPECT_EQ(std::to_string(sb.raid_disks), f["Raid Devices"]);
    EXPECT_EQ(sb.clean ? "clean" : "active", f["State"]);
    EXPECT_EQ(std::to_string(sb.level), "1");
    if (v12) {
      EXPECT_EQ(sb.name, f["Name"]);
      EXPECT_EQ(mdraid::mdadm_uuid_text(sb.device_uuid), e["MD_DEV_UUID"]);
      EXPECT_EQ(std::to_string(sb.data_offset_sectors) + " sectors", f["Data Offset"]);
      EXPECT_EQ(sb.data_size_sectors, leading_number(f["Avail Dev Size"]));
      EXPECT_EQ(sb.array_size_bytes() / 1024, leading_number(f["Array Size"]));
      EXPECT_EQ("Active device " + std::to_string(sb.role), f["Device Role"]);
      EXPECT_EQ(std::to_string(sb.bblog_size * 512 / 8) + " entries available at offset " +
                    std::to_string(sb.bblog_offset) + " sectors",
                f["Bad Block Log"]);
    } else {
      EXPECT_EQ(sb.component_sectors / 2, leading_number(f["Used Dev Size"]));
      EXPECT_EQ(std::to_string(sb.active_disks), f["Active Devices"]);
      EXPECT_EQ(std::to_string(sb.failed_disks), f["Failed Devices"]);
      EXPECT_EQ(std::to_string(sb.nr_disks), f["Total Devices"]);
    }

    if (c.bitmap) {
      ToolResult x = run_tool({"mdadm", "--examine-bitmap", dev});
      ASSERT_TRUE(x.ok()) << x.out << x.err;
      auto bf = colon_fields(x.out);
      ASSERT_TRUE(sb.bitmap) << "our parser finds no bitmap superblock";
      EXPECT_EQ(bf["Magic"], "6d746962");
      EXPECT_EQ(bf["Version"], "4");
      EXPECT_EQ(bf["UUID"], "6d6f7362:6f6f742d:72616964:31000042");
      EXPECT_EQ(bf["Events"], "3");
      EXPECT_EQ(bf["Chunksize"], "64 MB");  // mdadm's default floor for internal bitmaps
      EXPECT_EQ(bf["Daemon"], "5s flush period");
      EXPECT_EQ(bf["Write Mode"], "Normal");
      EXPECT_EQ(leading_number(bf["Sync Size"]), sb.component_sectors / 2);
      // Component < 64 MiB: one chunk, and it is dirty (a new array resyncs everything).
      EXPECT_EQ(bf["Bitmap"], "1 bits (chunks), 1 dirty (100.0%)");
      EXPECT_EQ(std::to_string(sb.bitmap->events), bf["Events"]);
      EXPECT_EQ(sb.bitmap->chunk_bytes, 64u * MiB);
      EXPECT_EQ(sb.bitmap->sync_size_sectors / 2, leading_number(bf["Sync Size"]));
    }

    // blkid and our native prober: one md signature, the same identity.
    auto id = blkid_probe(dev);
    EXPECT_EQ(id["TYPE"], "linux_raid_member");
    EXPECT_EQ(id["UUID"], "6d6f7362-6f6f-742d-7261-696431000042");
    EXPECT_EQ(id["VERSION"], v12 ? "1.2" : "0.90.0");
    auto ours = fsmake::probe_device(fd, size, io::block_facts(fd).logical_sector_size);
    EXPECT_EQ(ours.type, id["TYPE"]);
    EXPECT_EQ(ours.uuid, id["UUID"]);
    EXPECT_EQ(ours.version, id["VERSION"]);
    EXPECT_EQ(ours.label, id["LABEL"]);
    EXPECT_EQ(ours.uuid_sub, id["UUID_SUB"]);
    if (v12) {
      EXPECT_EQ(id["LABEL"], "mosboot");
      EXPECT_EQ(id["UUID_SUB"], mos::uuid_text(sb.device_uuid));
    }
    ToolResult wipefs = run_tool({"wipefs", "--no-act", "--noheadings", "-O", "TYPE", dev});
    ASSERT_TRUE(wipefs.ok()) << wipefs.err;
    EXPECT_EQ(wipefs.out, "linux_raid_member\n") << "exactly one md signature expected";
  }
}

INSTANTIATE_TEST_SUITE_P(Md, MdExamine,
                         ::testing::Values(Case{Metadata::v0_90, 512, false, false},
                                           Case{Metadata::v0_90, 4096, false, false},
                                           Case{Metadata::v1_2, 512, false, false},
                                           Case{Metadata::v1_2, 4096, false, false},
                                           Case{Metadata::v0_90, 512, true, false},
                                           Case{Metadata::v1_2, 4096, true, false},
                                           Case{Metadata::v0_90, 4096, false, true},
                                           Case{Metadata::v1_2, 512, false, true}),
                         case_name);

// Stale superblocks of the other version are cleared: a member that was 0.90 and becomes 1.2
// (and back) shows exactly one md signature to blkid, wipefs and mdadm.
TEST(MdExamineStale, RewritingWithTheOtherVersionLeavesOneSignature) {
  MOS_REQUIRE_ROOT();
  LoopImage a(32 * MiB);
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2, Metadata::v0_90}) {
    mdraid::ArraySpec spec;
    spec.metadata = m;
    spec.uuid = mos::random_uuid();
    spec.name = "stale";
    spec.ctime = kCtime;
    SandboxResult r = run_sandboxed([&] {
      io::Fd fd = io::Fd::open(a.dev(), O_RDWR | O_EXCL);
      std::vector<mdraid::MemberSpec> members(1);
      members[0].size_bytes = io::block_facts(fd).size_bytes;
      members[0].role = 0;
      auto g = mdraid::plan_geometry(spec, members);
      engine::apply_plan(fd, mdraid::plan_member(spec, g, members, 0));
      return std::string("ok");
    });
    ASSERT_TRUE(r.ok) << r.text;
    ToolResult wipefs = run_tool({"wipefs", "--no-act", "--noheadings", "-O", "TYPE", a.dev()});
    EXPECT_EQ(wipefs.out, "linux_raid_member\n") << metadata_text(m);
    auto id = blkid_probe(a.dev());
    EXPECT_EQ(id["VERSION"], m == Metadata::v1_2 ? "1.2" : "0.90.0");
    EXPECT_EQ(id["UUID"], mos::uuid_text(spec.uuid));
    ToolResult ex = run_tool({"mdadm", "--examine", "--export", a.dev()});
    EXPECT_EQ(export_fields(ex.out)["MD_UUID"], mdraid::mdadm_uuid_text(spec.uuid));
    EXPECT_EQ(export_fields(ex.out)["MD_DEVICES"], "2");  // raid_disks 2, one missing
  }
}

// "add member": a spare's superblock made from a live member's and written to a larger blank
// device is read by mdadm as a spare of the same array, checksum correct.
TEST(MdExamineAdd, SpareFromLiveMemberSuperblock) {
  MOS_REQUIRE_ROOT();
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
    SCOPED_TRACE(std::string(metadata_text(m)));
    LoopImage live(48 * MiB, 4096), blank(64 * MiB, 4096);
    mdraid::ArraySpec spec;
    spec.metadata = m;
    spec.uuid = kArrayUuid;
    spec.name = "mosefi";
    spec.ctime = kCtime;
    spec.clean = true;
    spec.bitmap = true;
    spec.events = 5;
    SandboxResult r = run_sandboxed([&] {
      io::Fd lf = io::Fd::open(live.dev(), O_RDWR | O_EXCL);
      std::vector<mdraid::MemberSpec> members(1);
      members[0].size_bytes = io::block_facts(lf).size_bytes;
      members[0].logical_sector_size = 4096;
      members[0].role = 0;
      auto g = mdraid::plan_geometry(spec, members);
      engine::apply_plan(lf, mdraid::plan_member(spec, g, members, 0));
      auto sb = mdraid::read_superblock(lf, members[0].size_bytes);
      if (!sb) return std::string("no superblock on the live member");
      io::Fd bf = io::Fd::open(blank.dev(), O_RDWR | O_EXCL);
      mdraid::MemberSpec fresh;
      fresh.size_bytes = io::block_facts(bf).size_bytes;
      fresh.device_uuid = mos::random_uuid();
      auto [maj, min] = io::block_devnum(bf);
      fresh.major = maj, fresh.minor = min;
      auto spare = mdraid::superblock_for_new_member(*sb, fresh, 2, kCtime + 60);
      engine::apply_plan(bf, mdraid::plan_superblock(spare, fresh.size_bytes));
      return std::string("ok");
    });
    ASSERT_TRUE(r.ok) << r.text;
    ASSERT_EQ(r.text, "ok");
    ToolResult ex = run_tool({"mdadm", "--examine", blank.dev()});
    ASSERT_TRUE(ex.ok()) << ex.out << ex.err;
    auto f = colon_fields(ex.out);
    EXPECT_EQ(f[m == Metadata::v1_2 ? "Array UUID" : "UUID"],
              "6d6f7362:6f6f742d:72616964:31000042");
    EXPECT_NE(f["Checksum"].find(" - correct"), std::string::npos) << f["Checksum"];
    EXPECT_EQ(f["Events"], "5");
    if (m == Metadata::v1_2) {
      EXPECT_EQ(f["Device Role"], "spare");
      EXPECT_EQ(f["Array State"].substr(0, 2), "A.");
      EXPECT_EQ(f["Data Offset"], "2048 sectors");
      EXPECT_EQ(leading_number(f["Avail Dev Size"]), 64 * MiB / 512 - 2048);
    } else {
      char row[128];
      std::snprintf(row, sizeof row, "this %5d   %5u    %5u    %5d      spare", 2,
                    io::block_devnum(io::Fd::open(blank.dev(), O_RDONLY)).first,
                    io::block_devnum(io::Fd::open(blank.dev(), O_RDONLY)).second, 2);
      EXPECT_NE(ex.out.find(row), std::string::npos) << row << "\n" << ex.out;
    }
    ToolResult x = run_tool({"mdadm", "--examine-bitmap", blank.dev()});
    ASSERT_TRUE(x.ok()) << x.out << x.err;
    auto bf = colon_fields(x.out);
    EXPECT_EQ(bf["UUID"], "6d6f7362:6f6f742d:72616964:31000042");
    EXPECT_EQ(bf["Bitmap"], "1 bits (chunks), 1 dirty (100.0%)");
    auto id = blkid_probe(blank.dev());
    EXPECT_EQ(id["TYPE"], "linux_raid_member");
    EXPECT_EQ(id["UUID"], "6d6f7362-6f6f-742d-7261-696431000042");
  }
}

}  // namespace
}  // namespace mos::test
