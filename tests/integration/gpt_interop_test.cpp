// Tables written by sgdisk (248 entries, entry array moved with -j), sfdisk and parted
// (non-ASCII names) are read as those tools see them, and stay valid after our edits.
#include <gtest/gtest.h>

#include "tests/integration/gpt_support.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(tolower(c));
  return s;
}

// Our reading of the disk must equal sfdisk's, partition by partition.
void expect_same_as_sfdisk(const std::string& dev, const nlohmann::json& ours) {
  auto sf = sfdisk_json(dev);
  ASSERT_FALSE(sf.is_null());
  uint64_t ss = sf["sectorsize"];
  ASSERT_EQ(ours["partitions"].size(), sf["partitions"].size()) << ours.dump() << sf.dump();
  for (size_t i = 0; i < sf["partitions"].size(); ++i) {
    const auto& s = sf["partitions"][i];
    const auto& o = ours["partitions"][i];
    EXPECT_EQ(o["path"], s["node"]);
    EXPECT_EQ(o["partlabel"], s.value("name", ""));
    EXPECT_EQ(o["partuuid"], lower(s["uuid"]));
    EXPECT_EQ(o["parttype"], lower(s["type"]));
    EXPECT_EQ(o["start_bytes"], s["start"].get<uint64_t>() * ss);
    EXPECT_EQ(o["size_bytes"], s["size"].get<uint64_t>() * ss);
  }
}

nlohmann::json read_table(const std::string& dev) {
  return engine_call([&] { return nlohmann::json(engine::read_partition_table(dev)); });
}

// Adds a partition in the largest gap with our engine and checks every oracle afterwards.
void add_and_check(const std::string& dev, size_t before) {
  auto made = engine_call([&] { return nlohmann::json(engine::create_partition({dev, "ours-ü", "linux_srv", {}, {}, false})); });
  ASSERT_FALSE(made.contains("error")) << made.dump();
  auto v = sgdisk_verify(dev);
  EXPECT_TRUE(v.clean) << v.output;
  auto after = read_table(dev);
  EXPECT_EQ(after["partitions"].size(), before + 1);
  expect_same_as_sfdisk(dev, after);
  int n = made["partition"]["partnum"];
  auto k = kernel_part(dev, n);
  EXPECT_TRUE(k.exists);
  EXPECT_EQ(k.start_bytes, made["partition"]["start_bytes"].get<uint64_t>());
  // (blkid -o export escapes non-ASCII, so the name is checked through sfdisk above.)
  EXPECT_EQ(blkid_probe(made["partition"]["path"])["PART_ENTRY_UUID"], made["partition"]["partuuid"].get<std::string>());
}

TEST(GptInterop, SgdiskWith248EntriesAndMovedEntryArray) {
  MOS_REQUIRE_ROOT();
  for (uint32_t ss : {512u, 4096u}) {
    LoopImage img(256 * MiB, ss);
    const std::string dev = img.dev();
    auto made = run_tool({"sgdisk", "-o", "-S", "248", "-j", "2048", "-n", "1:0:+10M", "-c", "1:alpha", "-t", "1:EF00",
                          "-n", "2:0:+20M", "-c", "2:beta", "-t", "2:8200", dev});
    ASSERT_TRUE(made.ok()) << made.err;
    // sgdisk rounds the count up to fill whole sectors: 248 stays 248 on 512-byte sectors
    // (62 sectors) and becomes 256 on 4096-byte sectors (8 sectors).
    const std::string entries = ss == 512 ? "248" : "256";
    auto before = run_tool({"sgdisk", "-p", dev}).out;
    ASSERT_NE(before.find("holds up to " + entries + " entries"), std::string::npos) << before;
    auto ours = read_table(dev);
    ASSERT_TRUE(ours["primary_ok"]) << ours.dump();
    ASSERT_TRUE(ours["backup_ok"]) << ours.dump();
    EXPECT_EQ(ours["entry_count"], std::stoi(entries));
    expect_same_as_sfdisk(dev, ours);
    EXPECT_EQ(ours["partitions"][0]["parttype_name"], "esp");
    add_and_check(dev, 2);
    // Our edit kept sgdisk's geometry: same entry count and the main array still at sector 2048.
    auto after = run_tool({"sgdisk", "-p", dev}).out;
    EXPECT_NE(after.find("holds up to " + entries + " entries"), std::string::npos) << after;
    EXPECT_NE(after.find("Main partition table begins at sector 2048"), std::string::npos) << after;
  }
}

TEST(GptInterop, SfdiskTable) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  const std::string dev = img.dev();
  // A gap between the partitions: ours must land in the largest gap (after sf-two).
  run_tool({"sfdisk", "-q", dev}, "label: gpt\nstart=2048, size=10MiB, name=\"sf-one\", type=L\nstart=65536, size=20MiB, name=\"sf-two\", type=S\n");
  auto ours = read_table(dev);
  ASSERT_TRUE(ours["has_gpt"]) << ours.dump();
  expect_same_as_sfdisk(dev, ours);
  EXPECT_EQ(ours["partitions"][1]["parttype_name"], "swap");
  auto gaps = engine_call([&] { return nlohmann::json(engine::list_free_space(dev)); });
  ASSERT_EQ(gaps.size(), 2u) << gaps.dump();
  EXPECT_EQ(gaps[0]["start_bytes"], 11 * MiB);
  EXPECT_EQ(gaps[0]["end_bytes"], 32 * MiB);
  EXPECT_EQ(gaps[1]["start_bytes"], 52 * MiB);
  add_and_check(dev, 2);
  EXPECT_EQ(sfdisk_json(dev)["partitions"][2]["start"].get<uint64_t>() * 512, 52 * MiB);
}

TEST(GptInterop, PartedTableWithNonAsciiNames) {
  MOS_REQUIRE_ROOT();
  LoopImage img(256 * MiB);
  const std::string dev = img.dev();
  auto made = run_sh("LC_ALL=C.UTF-8 parted -s " + dev + " -- mklabel gpt mkpart 'Grüße-数据' ext4 1MiB 20MiB mkpart 'plain' linux-swap 20MiB 40MiB");
  ASSERT_TRUE(made.ok()) << made.err;
  auto ours = read_table(dev);
  ASSERT_TRUE(ours["has_gpt"]) << ours.dump();
  EXPECT_EQ(ours["partitions"][0]["partlabel"], "Grüße-数据");
  expect_same_as_sfdisk(dev, ours);
  add_and_check(dev, 2);
  auto pr = run_sh("LC_ALL=C.UTF-8 parted -s " + dev + " print");
  EXPECT_TRUE(pr.ok()) << pr.err;
  EXPECT_NE(pr.out.find("ours-ü"), std::string::npos) << pr.out;
}

}  // namespace
}  // namespace mos::test
