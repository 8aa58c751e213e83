// The partitioning methods through the real daemon: the CLI (human and --json), raw JSON-RPC
// over socat for bad params and the device policy, judged by sgdisk / sfdisk / the kernel.
#include <gtest/gtest.h>

#include <set>

#include "tests/integration/gpt_support.hpp"
#include "tests/support/daemon.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

nlohmann::json rpc(const std::string& sock, const std::string& method, const nlohmann::json& params) {
  nlohmann::json req = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
  auto r = run_tool({"socat", "-t", "30", "-", "UNIX-CONNECT:" + sock}, req.dump() + "\n");
  EXPECT_TRUE(r.ok()) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(GptRpc, MosLayoutThroughTheCli) {
  MOS_REQUIRE_ROOT();
  SandboxedDaemon d;
  LoopImage img(4096 * MiB, 4096);
  const std::string dev = img.dev();

  auto table = d.cli_json({"create-partition-table", "--disk", dev});
  EXPECT_EQ(table["dry_run"], false);
  struct P { const char* name; const char* type; const char* size; };
  for (P p : {P{"mosbios", "bios_boot", "1048576"}, P{"mosefi", "esp", "104857600"}, P{"mosboot", "linux", "1073741824"},
              P{"mosswap", "swap", "2147483648"}}) {
    auto made = d.cli_json({"create-partition", "--disk", dev, "--name", p.name, "--part-type", p.type, "--size", p.size});
    EXPECT_EQ(made["partlabel"], p.name);
    EXPECT_EQ(made["kind"], "partition");
    EXPECT_EQ(made["size_bytes"], std::stoull(p.size));
  }
  auto gaps = d.cli_json({"free-space", dev});
  ASSERT_EQ(gaps.size(), 1u) << gaps.dump();
  EXPECT_EQ(gaps[0]["start_bytes"], (1 + 1 + 100 + 1024 + 2048) * MiB);

  auto human = d.cli({"create-partition", "--disk", dev, "--name", "mosdata", "--part-type", "linux"});
  ASSERT_TRUE(human.ok()) << human.err;
  EXPECT_NE(human.out.find("mosdata"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(dev + "p5"), std::string::npos) << human.out;

  auto v = sgdisk_verify(dev);
  EXPECT_TRUE(v.clean) << v.output;
  auto sf = sfdisk_json(dev);
  ASSERT_EQ(sf["partitions"].size(), 5u);
  EXPECT_EQ(sf["partitions"][4]["name"], "mosdata");
  EXPECT_TRUE(kernel_part(dev, 5).exists);

  // Errors: one line on stderr, non-zero exit, nothing changed.
  auto refused = d.cli({"wipe-signatures", dev});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("force"), std::string::npos) << refused.err;
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  auto bad_size = d.cli({"resize-partition", "--disk", dev, "--number", "4", "--size", "lots"});
  EXPECT_NE(bad_size.exit_code, 0);
  EXPECT_NE(bad_size.err.find("--size"), std::string::npos) << bad_size.err;

  auto plan = d.cli_json({"delete-partition", "--disk", dev, "--number", "5", "--dry-run"});
  EXPECT_EQ(plan["dry_run"], true);
  EXPECT_EQ(planned_ranges(plan["plan"]).size(), 4u);
  EXPECT_TRUE(kernel_part(dev, 5).exists);
  auto deleted = d.cli_json({"delete-partition", "--disk", dev, "--number", "5"});
  EXPECT_FALSE(kernel_part(dev, 5).exists);
  auto grown = d.cli_json({"resize-partition", "--disk", dev, "--number", "4", "--size", "max"});
  EXPECT_GT(grown["size_bytes"].get<uint64_t>(), 2048 * MiB);
  EXPECT_EQ(kernel_part(dev, 4).size_bytes, grown["size_bytes"].get<uint64_t>());
  auto repaired = d.cli_json({"repair-partition-table", "--disk", dev});
  EXPECT_TRUE(repaired["plan"]["steps"].empty()) << repaired.dump();
  auto status = d.cli_json({"partition-table", "--disk", dev});
  EXPECT_EQ(status["primary_ok"], true);
  EXPECT_EQ(status["partitions"].size(), 4u);
  EXPECT_TRUE(sgdisk_verify(dev).clean);
  auto wiped = d.cli_json({"wipe-signatures", dev, "--force"});
  EXPECT_TRUE(blkid_probe(dev).empty());
  EXPECT_EQ(d.stop(SIGTERM), 0);
}

TEST(GptRpc, BadParamsAndPolicyAreRefusedBeforeTouchingTheDisk) {
  MOS_REQUIRE_ROOT();
  LoopImage img(64 * MiB);
  const std::string dev = img.dev();
  {
    SandboxedDaemon d;
    auto doc = rpc(d.socket(), "rpc.discover", nlohmann::json::object());
    std::set<std::string> names;
    for (const auto& m : doc["result"]["methods"]) names.insert(m["name"]);
    for (auto n : {"storage.list_free_space", "storage.create_partition_table", "storage.create_partition",
                   "storage.delete_partition", "storage.resize_partition", "storage.wipe_signatures",
                   "storage.repair_partition_table"})
      EXPECT_TRUE(names.count(n)) << n;
    auto r = rpc(d.socket(), "storage.create_partition_table", {{"disk", dev}, {"forse", true}});
    EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
    EXPECT_NE(r["error"]["message"].get<std::string>().find("forse"), std::string::npos);
    r = rpc(d.socket(), "storage.create_partition", {{"disk", dev}, {"name", "x"}, {"part_type", "linux"}, {"size_bytes", -5}});
    EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
    r = rpc(d.socket(), "storage.resize_partition", {{"disk", dev}, {"number", 1}, {"size_bytes", "min"}});
    EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
    r = rpc(d.socket(), "storage.create_partition_table", {{"disk", "../etc/passwd"}});
    EXPECT_EQ(r["error"]["code"], -32602) << r.dump();
    r = rpc(d.socket(), "storage.create_partition_table", {{"disk", dev}, {"dry_run", true}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(planned_ranges(r["result"]["plan"]).size(), 5u);  // backup array + header, primary array + header, PMBR
    EXPECT_TRUE(blkid_probe(dev).empty());
    r = rpc(d.socket(), "storage.create_partition_table", {{"disk", dev}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    r = rpc(d.socket(), "storage.create_partition", {{"disk", dev}, {"name", "x"}, {"part_type", "ntfs-ish"}});
    EXPECT_EQ(r["error"]["code"], -32001) << r.dump();
    r = rpc(d.socket(), "storage.create_partition", {{"disk", dev}, {"name", std::string(40, 'n')}, {"part_type", "linux"}});
    EXPECT_EQ(r["error"]["code"], -32001) << r.dump();
    r = rpc(d.socket(), "storage.delete_partition", {{"disk", dev}, {"number", 7}});
    EXPECT_EQ(r["error"]["code"], -32002) << r.dump();
    EXPECT_EQ(d.stop(SIGTERM), 0);
  }
  SandboxedDaemon strict("/dev/vdz*");
  auto r = rpc(strict.socket(), "storage.create_partition", {{"disk", dev}, {"name", "x"}, {"part_type", "linux"}});
  EXPECT_EQ(r["error"]["code"], -32001) << r.dump();
  const auto table = sfdisk_json(dev);  // sfdisk prints no "partitions" for a table without any
  ASSERT_TRUE(table.is_object()) << "sfdisk could not read " << dev;
  EXPECT_FALSE(table.contains("partitions")) << table.dump();
  EXPECT_EQ(strict.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace mos::test
