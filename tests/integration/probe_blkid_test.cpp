// The native prober against `blkid -p -o export` on images made by the real tools, on loop
// devices with 512- and 4096-byte logical sectors. Our probe runs under the execve-denying
// sandbox; blkid (the oracle) runs outside it.
#include <fcntl.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "engine/partition/partition.hpp"
#include "fsmake/probe/probe.hpp"
#include "fsmake/probe/prober.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "tests/integration/probe_oracles.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

// probe_device on dev inside the sandbox, as KEY=VALUE lines named like blkid's.
std::map<std::string, std::string> native_probe(const std::string& dev) {
  auto r = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(dev, O_RDONLY);
    auto facts = io::block_facts(fd);
    fsmake::ProbeSource src(fd, facts.size_bytes, facts.logical_sector_size);
    auto p = fsmake::probe::probe_from(src);
    // One short pass: the head and tail windows answer every prober on these images.
    std::string out = "EXTRA_READS=" + std::to_string(src.extra_reads()) + "\n";
    auto put = [&](const char* k, const std::string& v) {
      if (!v.empty()) out += std::string(k) + "=" + v + "\n";
    };
    put("TYPE", p.type), put("USAGE", p.usage), put("LABEL", p.label), put("UUID", p.uuid);
    put("UUID_SUB", p.uuid_sub), put("VERSION", p.version), put("SEC_TYPE", p.sec_type);
    put("PTTYPE", p.pttype), put("PTUUID", p.ptuuid), put("DAMAGED", p.damaged);
    return out;
  });
  EXPECT_TRUE(r.ok) << r.text;
  std::map<std::string, std::string> kv;
  std::istringstream s(r.text);
  for (std::string line; std::getline(s, line);)
    if (auto eq = line.find('='); eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  return kv;
}

struct ToolCase {
  const char* name;
  uint64_t size_mib;
  const char* script;  // $DEV is the loop device, $TMP a scratch directory
  const char* type;    // what blkid must report (so an empty result cannot pass)
  const char* label;   // the label the tool was given ("" for none)
  const char* pttype;
};

const ToolCase kCases[] = {
    {"ext2", 64, "mkfs.ext2 -q -F -L MOSext2 $DEV", "ext2", "MOSext2", ""},
    {"ext3", 64, "mkfs.ext3 -q -F -L MOSext3 $DEV", "ext3", "MOSext3", ""},
    {"ext4", 64, "mkfs.ext4 -q -F -L MOSDATA $DEV", "ext4", "MOSDATA", ""},
    {"vfat12", 16, "mkfs.vfat -I -F 12 -n MOSF12 $DEV", "vfat", "MOSF12", ""},
    {"vfat16", 64, "mkfs.vfat -I -F 16 -n MOSF16 $DEV", "vfat", "MOSF16", ""},
    {"vfat32", 320, "mkfs.vfat -I -F 32 -n MOSEFI $DEV", "vfat", "MOSEFI", ""},
    {"swap", 64, "mkswap -L MOSSWAP $DEV", "swap", "MOSSWAP", ""},
    {"btrfs", 256, "mkfs.btrfs -q -f -L MOSBTR $DEV", "btrfs", "MOSBTR", ""},
    {"xfs", 512, "mkfs.xfs -q -f -L MOSXFS $DEV", "xfs", "MOSXFS", ""},
    {"lvm2", 64, "pvcreate -qq -ff -y $DEV", "LVM2_member", "", ""},
    {"luks1", 64,
     "head -c 32 /dev/urandom > $TMP/key && cryptsetup luksFormat -q --type luks1 --pbkdf-force-iterations 1000 "
     "--key-file $TMP/key $DEV",
     "crypto_LUKS", "", ""},
    {"luks2", 64,
     "head -c 32 /dev/urandom > $TMP/key && cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 "
     "--pbkdf-force-iterations 1000 --label MOSCRYPT --key-file $TMP/key $DEV",
     "crypto_LUKS", "MOSCRYPT", ""},
    {"squashfs", 16,
     "mkdir -p $TMP/d && echo hi > $TMP/d/f && mksquashfs $TMP/d $TMP/sq -noappend -quiet >/dev/null && "
     "dd if=$TMP/sq of=$DEV conv=notrunc status=none",
     "squashfs", "", ""},
    {"iso9660", 16,
     "mkdir -p $TMP/d && echo hi > $TMP/d/f && genisoimage -quiet -V MOSISO -o $TMP/iso $TMP/d && "
     "dd if=$TMP/iso of=$DEV conv=notrunc status=none",
     "iso9660", "MOSISO", ""},
    {"iso9660_joliet", 16,
     "mkdir -p $TMP/d && echo hi > $TMP/d/f && genisoimage -quiet -J -V MOS_Joliet_Label -o $TMP/iso $TMP/d && "
     "dd if=$TMP/iso of=$DEV conv=notrunc status=none",
     "iso9660", "MOS_Joliet_Label", ""},
    {"gpt", 64, "sgdisk -o -n1:0:+8M -c1:MOSEFI -t1:ef00 -n2:0:0 $DEV >/dev/null", "", "", "gpt"},
    // Primary header destroyed: blkid (and we) still find the table through the backup header.
    {"gpt_backup_only", 64,
     "sgdisk -o -n1:0:+8M $DEV >/dev/null && "
     "dd if=/dev/zero of=$DEV bs=$(blockdev --getss $DEV) seek=1 count=1 conv=notrunc status=none",
     "", "", "gpt"},
    // Labels with spaces, maximum lengths and mixed case (trimming, escaping, Joliet merge).
    {"ext4_spaces", 64, "mkfs.ext4 -q -F -L 'Data Disk 1' $DEV", "ext4", "Data Disk 1", ""},
    {"vfat_spaces", 64, "mkfs.vfat -I -F 16 -n 'MY DISK' $DEV", "vfat", "MY DISK", ""},
    {"xfs_12chars", 512, "mkfs.xfs -q -f -L ABCDEFGHIJKL $DEV", "xfs", "ABCDEFGHIJKL", ""},
    {"btrfs_long", 256, "mkfs.btrfs -q -f -L a_rather_long_btrfs_label_of_many_chars $DEV", "btrfs",
     "a_rather_long_btrfs_label_of_many_chars", ""},
    {"swap_nolabel", 64, "mkswap $DEV", "swap", "", ""},
    {"iso9660_joliet_mixed", 16,
     "mkdir -p $TMP/d && echo hi > $TMP/d/f && genisoimage -quiet -J -V 'Mos Mixed Case' -o $TMP/iso $TMP/d && "
     "dd if=$TMP/iso of=$DEV conv=notrunc status=none",
     "iso9660", "Mos Mixed Case", ""},
    // Boot-sector label changed behind mkfs's back: LABEL is still the root-directory entry.
    {"vfat32_bootlabel_differs", 320,
     "mkfs.vfat -I -F 32 -n ROOTDIR $DEV >/dev/null && printf 'BOOTSECTOR ' | "
     "dd of=$DEV bs=1 seek=71 conv=notrunc status=none",
     "vfat", "ROOTDIR", ""},
    {"ext4_nolabel", 64, "mkfs.ext4 -q -F $DEV", "ext4", "", ""},
    {"vfat32_nolabel", 320, "mkfs.vfat -I -F 32 $DEV", "vfat", "", ""},
    {"dos", 64, "printf 'label: dos\\nlabel-id: 0x1a2b3c4d\\n,8M\\n' | sfdisk -q $DEV", "", "", "dos"},
};

class ProbeBlkid : public ::testing::TestWithParam<std::tuple<int, uint32_t>> {
 protected:
  const ToolCase& tool_case() const { return kCases[std::get<0>(GetParam())]; }
  uint32_t sector_size() const { return std::get<1>(GetParam()); }
  std::string trace() const {
    return std::string(tool_case().name) + " on " + std::to_string(sector_size()) + "-byte sectors";
  }
  // Attaches a fresh loop device and runs the case's tool on it.
  bool make_image() {
    const ToolCase& c = tool_case();
    img_ = std::make_unique<LoopImage>(c.size_mib << 20, sector_size());
    auto made = run_sh(std::string("DEV=") + img_->dev() + " TMP=" + tmp_.path() + "; " + c.script);
    EXPECT_TRUE(made.ok()) << c.name << ": " << made.err << made.out;
    run_tool({"udevadm", "settle"});
    return made.ok();
  }
  const std::string& dev() const { return img_->dev(); }

  TempDir tmp_;
  std::unique_ptr<LoopImage> img_;
};

TEST_P(ProbeBlkid, AgreesWithBlkid) {
  MOS_REQUIRE_ROOT();
  const ToolCase& c = tool_case();
  ASSERT_TRUE(make_image());
  SCOPED_TRACE(trace());
  auto blkid = blkid_unescaped(dev());
  auto ours = native_probe(dev());
  ASSERT_EQ(blkid["TYPE"], c.type) << "oracle did not see what the tool made";
  EXPECT_EQ(blkid["PTTYPE"], c.pttype);
  if (*c.label) {
    EXPECT_EQ(blkid["LABEL"], c.label);
  }
  EXPECT_EQ(ours["EXTRA_READS"], "0");
  // Healthy images report no damage; the one whose primary GPT header is gone names its backup.
  if (std::string(c.name) == "gpt_backup_only") {
    EXPECT_NE(ours["DAMAGED"].find("backup header at LBA"), std::string::npos) << ours["DAMAGED"];
  } else {
    EXPECT_EQ(ours["DAMAGED"], "");
  }
  for (const char* key : {"TYPE", "USAGE", "LABEL", "UUID", "UUID_SUB", "VERSION", "SEC_TYPE",
                          "PTTYPE", "PTUUID"})
    EXPECT_EQ(ours[key], blkid[key]) << key;
}

// find_signatures lists what wipefs erases (the wipe operation erases exactly these); after
// zeroing them neither blkid nor wipefs finds anything.
TEST_P(ProbeBlkid, SignaturesAreWhatWipefsErases) {
  MOS_REQUIRE_ROOT();
  ASSERT_TRUE(make_image());
  SCOPED_TRACE(trace());

  auto r = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(dev(), O_RDONLY);
    auto facts = io::block_facts(fd);
    std::string out;
    for (const auto& s : fsmake::find_signatures(fd, facts.size_bytes, facts.logical_sector_size))
      out += std::to_string(s.offset) + " " + std::to_string(s.length) + " " + s.type + "\n";
    return out;
  });
  ASSERT_TRUE(r.ok) << r.text;
  std::set<std::pair<uint64_t, uint32_t>> ours;
  std::istringstream s(r.text);
  for (std::string line; std::getline(s, line);) {
    unsigned long long off = 0;
    unsigned len = 0;
    ASSERT_EQ(std::sscanf(line.c_str(), "%llu %u", &off, &len), 2) << line;
    ours.insert({off, len});
  }
  auto theirs = wipefs_would_erase(dev());
  ASSERT_FALSE(theirs.empty()) << "wipefs saw nothing: the case proves nothing";
  EXPECT_EQ(ours, theirs) << r.text;

  io::Fd fd = io::Fd::open(dev(), O_RDWR);
  for (auto [off, len] : ours) {
    std::vector<uint8_t> zero(len, 0);
    fd.pwrite_exact(zero.data(), len, off);
  }
  fd.fsync();
  auto after = blkid_unescaped(dev());
  EXPECT_EQ(after["TYPE"], "");
  EXPECT_EQ(after["PTTYPE"], "");
  EXPECT_TRUE(wipefs_would_erase(dev()).empty());
}

// The engine's wipe (which erases find_signatures' list) leaves nothing blkid or wipefs sees.
TEST_P(ProbeBlkid, EngineWipeLeavesNoSignature) {
  MOS_REQUIRE_ROOT();
  ASSERT_TRUE(make_image());
  SCOPED_TRACE(trace());
  ASSERT_FALSE(wipefs_would_erase(dev()).empty());
  auto r = run_sandboxed([&] {
    auto res = engine::wipe_signatures(dev(), true, false);
    return std::to_string(res.plan.bytes_written);
  });
  ASSERT_TRUE(r.ok) << r.text;
  auto after = blkid_unescaped(dev());
  EXPECT_EQ(after["TYPE"], "");
  EXPECT_EQ(after["PTTYPE"], "");
  EXPECT_TRUE(wipefs_would_erase(dev()).empty());
  // Nor does our prober: the copies wipefs leaves (btrfs mirrors, ext backups) went too.
  auto ours = native_probe(dev());
  EXPECT_EQ(ours["TYPE"], "");
  EXPECT_EQ(ours["PTTYPE"], "");
  EXPECT_EQ(ours["DAMAGED"], "");
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<int, uint32_t>>& info) {
  return std::string(kCases[std::get<0>(info.param)].name) + "_" +
         std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Tools, ProbeBlkid,
                         ::testing::Combine(::testing::Range(0, int(std::size(kCases))),
                                            ::testing::Values(512u, 4096u)),
                         case_name);

}  // namespace
}  // namespace mos::test
