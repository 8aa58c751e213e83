// storage.replace_disk / mos-volmgr replace-disk on loop devices (no md driver on the host: the
// arrays cannot be assembled here, so a real run ends at that refusal; the VM runs it whole).
// Every refusal leaves every device byte-unchanged; the dry run returns the plan and writes nothing.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "engine/format/format.hpp"
#include "engine/partition/partition.hpp"
#include "engine/raid/raid.hpp"
#include "engine/replace/record.hpp"
#include "engine/sysvol/layout.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/daemon.hpp"

namespace mos::test {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

engine::Context ctx_for(const std::vector<const LoopImage*>& imgs) {
  engine::Context ctx;
  ctx.policy = engine::Policy::from_globs(allow_list(imgs));
  return ctx;
}

// The MOS layout on a loop; with `two_disk`, mosefi and mosboot carry md superblocks (written
// only: no md driver here) and mosdata a btrfs MOSDATA, as a two-disk node's survivor does.
// record: the replacement record on partitions 2..5 (a new disk after the gpt step).
void make_survivor(const LoopImage& img, bool two_disk, bool record = false) {
  const auto ctx = ctx_for({&img});
  const auto l = engine::sysvol::plan_layout(img.dev(), img.size(), 512, engine::sysvol::default_config());
  std::vector<engine::LayoutPartition> parts;
  for (const auto& p : l.partitions)
    parts.push_back({p.name, p.part_type, p.size_bytes, record && !p.fstype.empty() ? engine::replace::kReplacePendingBit : 0});
  engine::create_partition_layout(img.dev(), parts, false, false, ctx);
  if (!two_disk) return;
  const std::string part = img.dev() + "p";
  for (auto [n, name, meta] : {std::tuple{2, "mosefi", mdraid::Metadata::v0_90}, std::tuple{3, "mosboot", mdraid::Metadata::v1_2}}) {
    engine::RaidCreateRequest req;
    req.name = name;
    req.metadata = meta;
    req.members = {part + std::to_string(n), "missing"};
    req.start = false;
    engine::create_raid(req, ctx);
  }
  engine::FormatRequest fs;
  fs.device = part + "5";
  fs.fstype = "btrfs";
  fs.label = "MOSDATA";
  engine::create_filesystem(fs, ctx);
}

struct Images {
  std::vector<const LoopImage*> all;
  std::map<std::string, std::string> digests() const {
    std::map<std::string, std::string> d;
    run_tool({"sync"});
    for (const auto* i : all) d[i->dev()] = sparse_digest(i->file());
    return d;
  }
};

// A real call through the daemon: refused with -32001 and `text` in the message, nothing changed.
void expect_refused(const SandboxedDaemon& d, const Images& imgs, const nlohmann::json& params, const std::string& text) {
  const auto before = imgs.digests();
  rpc::Client c(d.socket());
  auto [code, msg] = rpc_error(c, "storage.replace_disk", params);
  EXPECT_EQ(code, -32001) << msg;
  EXPECT_NE(msg.find(text), std::string::npos) << msg;
  EXPECT_EQ(imgs.digests(), before) << params.dump();
}

TEST(ReplaceDisk, RefusalsChangeNoByte) {
  LoopImage survivor(8 * kGiB), blank(9 * kGiB), small(4 * kGiB), used(8 * kGiB), single(8 * kGiB), outside(8 * kGiB);
  make_survivor(survivor, true);
  make_survivor(single, false);
  engine::create_partition_table(used.dev(), false, false, ctx_for({&used}));
  Images imgs{{&survivor, &blank, &small, &used, &single, &outside}};
  {
    SandboxedDaemon d(allow_list({&survivor, &blank, &small, &used}));
    ASSERT_TRUE(d.ready());
    expect_refused(d, imgs, {{"new", blank.dev()}}, "md array mosefi is not assembled");
    expect_refused(d, imgs, {{"new", used.dev()}}, used.dev() + " is not blank or not free");
    expect_refused(d, imgs, {{"new", used.dev()}}, "never forces");
    expect_refused(d, imgs, {{"new", small.dev()}}, small.dev() + " is too small");
    expect_refused(d, imgs, {{"new", survivor.dev()}}, "carries the MOS layout without a replacement record");
    expect_refused(d, imgs, {{"new", blank.dev()}, {"failed", blank.dev()}}, "is the disk being replaced");
    expect_refused(d, imgs, {{"new", blank.dev()}, {"failed", small.dev()}}, "(--failed) is not a present disk carrying the MOS layout");
    expect_refused(d, imgs, {{"new", outside.dev()}}, outside.dev());
  }
  {
    SandboxedDaemon d(allow_list({&single, &blank}));
    ASSERT_TRUE(d.ready());
    expect_refused(d, imgs, {{"new", blank.dev()}}, "not a two-disk MOS node: " + single.dev() + "p2 holds nothing");
  }
  {
    SandboxedDaemon d(allow_list({&blank}));
    ASSERT_TRUE(d.ready());
    expect_refused(d, imgs, {{"new", blank.dev()}}, "no other disk carries the MOS layout");
  }
}

TEST(ReplaceDisk, DryRunReturnsThePlanWritesNothingCliTableAndJson) {
  LoopImage survivor(8 * kGiB), blank(9 * kGiB);
  make_survivor(survivor, true);
  Images imgs{{&survivor, &blank}};
  const auto before = imgs.digests();
  SandboxedDaemon d(allow_list({&survivor, &blank}));
  ASSERT_TRUE(d.ready());

  auto r = d.cli({"--json", "replace-disk", blank.dev(), "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.err;  // the arrays cannot be assembled here: the plan says so
  EXPECT_NE(r.err.find("replace-disk would be refused: md array mosefi is not assembled"), std::string::npos) << r.err;
  auto plan = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(plan.is_discarded()) << r.out;
  EXPECT_EQ(plan["new"], blank.dev());
  EXPECT_EQ(plan["survivor"], survivor.dev());
  EXPECT_EQ(plan["failed"], "missing");
  EXPECT_EQ(plan["dry_run"], true);
  EXPECT_EQ(plan["resume"], false);
  // The new disk gets exactly the survivor's partitions (sfdisk, the oracle, on the survivor).
  auto table = sfdisk_json(survivor.dev());
  ASSERT_EQ(plan["layout"].size(), table["partitions"].size());
  for (size_t i = 0; i < table["partitions"].size(); ++i) {
    EXPECT_EQ(plan["layout"][i]["start_bytes"], table["partitions"][i]["start"].get<uint64_t>() * 512) << i;
    EXPECT_EQ(plan["layout"][i]["size_bytes"], table["partitions"][i]["size"].get<uint64_t>() * 512) << i;
    EXPECT_EQ(plan["layout"][i]["name"], table["partitions"][i]["name"]) << i;
  }
  std::vector<std::string> steps;
  for (auto& s : plan["steps"]) steps.push_back(s["step"].get<std::string>() + "=" + s["action"].get<std::string>());
  EXPECT_EQ(steps, (std::vector<std::string>{"gpt=run", "md-esp=run", "md-boot=run", "btrfs-replace=run", "balance=run", "swap=run"}));
  ASSERT_EQ(plan["notes"].size(), 1u);
  EXPECT_NE(plan["notes"][0].get<std::string>().find(std::to_string(kGiB) + " bytes larger than the survivor: the extra space stays free"),
            std::string::npos);
  EXPECT_EQ(plan["refusals"][0], "md array mosefi is not assembled (mos_sysvol assembles it at boot; or storage.assemble_raid)");

  auto t = d.cli({"replace-disk", blank.dev(), "--dry-run"});
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_NE(t.out.find("Dry run: nothing written."), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("New disk " + blank.dev() + ", survivor " + survivor.dev() + ", replacing missing"), std::string::npos) << t.out;
  for (const char* s : {"STEP", "ACTION", "md-esp", "btrfs-replace", "mosdata", "Note: ", "Refused: md array mosboot is not assembled"})
    EXPECT_NE(t.out.find(s), std::string::npos) << s << "\n" << t.out;
  // The method in rpc.discover; unknown parameters are refused by its schema.
  rpc::Client c(d.socket());
  bool listed = false;
  const auto doc = c.call("rpc.discover", nlohmann::json::object());
  for (auto& m : doc["methods"])
    if (m["name"] == "storage.replace_disk") listed = true;
  EXPECT_TRUE(listed);
  EXPECT_EQ(rpc_error(c, "storage.replace_disk", {{"new", blank.dev()}, {"force", true}}).first, -32602);
  EXPECT_EQ(imgs.digests(), before);
}

std::vector<std::string> step_actions(const nlohmann::json& plan) {
  std::vector<std::string> out;
  for (auto& s : plan["steps"]) out.push_back(s["step"].get<std::string>() + "=" + s["action"].get<std::string>());
  return out;
}

// A new disk left after the gpt step (layout + record): the dry run resumes, the gpt step done;
// a cleared record bit makes its step done. mos_sysvol names the command that finishes it.
TEST(ReplaceDisk, HalfDoneReplacementResumesAndSysvolWarns) {
  LoopImage survivor(8 * kGiB), half(8 * kGiB);
  make_survivor(survivor, true);
  make_survivor(half, false, true);
  Images imgs{{&survivor, &half}};
  const auto before = imgs.digests();
  {
    SandboxedDaemon d(allow_list({&survivor, &half}));
    ASSERT_TRUE(d.ready());
    auto r = d.cli({"--json", "replace-disk", half.dev(), "--dry-run"});
    auto plan = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(plan.is_discarded()) << r.out << r.err;
    EXPECT_EQ(plan["resume"], true) << plan.dump();
    EXPECT_EQ(step_actions(plan),
              (std::vector<std::string>{"gpt=done", "md-esp=run", "md-boot=run", "btrfs-replace=run", "balance=run", "swap=run"}));
  }
  EXPECT_EQ(imgs.digests(), before);
  engine::set_partition_attributes(half.dev(), {{4, 0}}, false, ctx_for({&half}));
  {
    SandboxedDaemon d(allow_list({&survivor, &half}));
    ASSERT_TRUE(d.ready());
    auto r = d.cli({"--json", "replace-disk", half.dev(), "--dry-run"});
    auto plan = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(plan.is_discarded()) << r.out << r.err;
    EXPECT_EQ(step_actions(plan)[5], "swap=done");
  }
  SysvolEnv env;
  auto run = env.run(allow_list({&survivor, &half}), {"--dry-run"});
  const std::string line = "unfinished disk replacement on " + half.dev() + " (mosefi, mosboot, mosdata not done): finish it with "
                           "`mos-volmgr replace-disk " + half.dev() + "`";
  EXPECT_NE(run.report["warnings"].dump().find(line), std::string::npos) << run.report.dump(1) << run.log;
  EXPECT_NE(run.log.find("WARNING: " + line), std::string::npos) << run.log;
}

}  // namespace
}  // namespace mos::test
