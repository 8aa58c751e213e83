// Discovery's content facts (fstype/label/uuid from our prober, partlabel/partuuid/parttype
// from the GPT reader) on a partitioned loop disk, compared with `blkid -p` on the disk and on
// each partition. Discovery runs in the execve-denying sandbox.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "engine/inventory/devices.hpp"
#include "tests/integration/probe_oracles.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(c));
  return s;
}

class DiscoveryContent : public ::testing::TestWithParam<uint32_t> {};

TEST_P(DiscoveryContent, MatchesBlkidOnDiskAndPartitions) {
  MOS_REQUIRE_ROOT();
  LoopImage img(512ull << 20, GetParam());
  const std::string dev = img.dev();
  auto made = run_sh("set -e; D=" + dev +
                     "; sgdisk -o -n1:0:+64M -c1:MOSEFI -t1:ef00 -n2:0:+64M -c2:MOSSWAP -t2:8200 "
                     "-n3:0:0 -c3:MOSDATA $D >/dev/null; "
                     // partx races udev on a freshly reused loop device: retry briefly
                     "ok=; for i in 1 2 3 4 5; do partx -u $D && ok=1 && break; sleep 0.3; done; "
                     "test -n \"$ok\"; "
                     "udevadm settle; "
                     "for i in $(seq 50); do test -b ${D}p3 && break; sleep 0.1; done; "
                     "mkfs.vfat -I -n MOSEFI ${D}p1 >/dev/null; mkswap -L MOSSWAP ${D}p2 >/dev/null; "
                     "mkfs.ext4 -q -F -L MOSDATA ${D}p3");
  ASSERT_TRUE(made.ok()) << made.err << made.out;

  auto r = run_sandboxed([&] {
    std::string out;
    for (const auto& d : engine::discover_devices()) {
      if (d.path != dev && d.parent != dev) continue;
      auto put = [&](const char* k, const std::optional<std::string>& v) {
        out += d.path + " " + k + "=" + v.value_or("") + "\n";
      };
      put("TYPE", d.fstype), put("LABEL", d.label), put("UUID", d.uuid), put("PTTYPE", d.pttype);
      put("PTUUID", d.ptuuid), put("PART_ENTRY_NAME", d.partlabel);
      put("PART_ENTRY_UUID", d.partuuid), put("PART_ENTRY_TYPE", d.parttype);
    }
    return out;
  });
  ASSERT_TRUE(r.ok) << r.text;
  std::map<std::string, std::map<std::string, std::string>> ours;
  std::istringstream s(r.text);
  for (std::string line; std::getline(s, line);) {
    auto sp = line.find(' '), eq = line.find('=');
    ours[line.substr(0, sp)][line.substr(sp + 1, eq - sp - 1)] = line.substr(eq + 1);
  }
  ASSERT_EQ(ours.size(), 4u) << r.text;  // the disk and its three partitions

  auto disk = blkid_unescaped(dev);
  ASSERT_EQ(disk["PTTYPE"], "gpt");
  EXPECT_EQ(ours[dev]["PTTYPE"], "gpt");
  EXPECT_EQ(ours[dev]["PTUUID"], disk["PTUUID"]);
  const char* want_type[] = {"vfat", "swap", "ext4"};
  for (int n = 1; n <= 3; ++n) {
    std::string part = dev + "p" + std::to_string(n);
    SCOPED_TRACE(part);
    auto b = blkid_unescaped(part);
    ASSERT_EQ(b["TYPE"], want_type[n - 1]);
    for (const char* key : {"TYPE", "LABEL", "UUID", "PART_ENTRY_NAME", "PART_ENTRY_UUID"})
      EXPECT_EQ(ours[part][key], b[key]) << key;
    EXPECT_EQ(ours[part]["PART_ENTRY_TYPE"], lower(b["PART_ENTRY_TYPE"]));
  }
}

INSTANTIATE_TEST_SUITE_P(Sectors, DiscoveryContent, ::testing::Values(512u, 4096u));

}  // namespace
}  // namespace mos::test
