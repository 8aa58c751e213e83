// Replacing a btrfs member (engine/btrfs/replace.*) and the soft convert balance after a degraded
// run, on a RAID1 made by our writer over loop devices of 512- and 4096-byte sectors. Oracles:
// `btrfs filesystem show/df`, `btrfs scrub start -B`, `btrfs check --readonly` after unmount,
// the chunk tree's logical addresses, file bytes, sha256 (sparse_digest) of every device a
// refusal touched.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/btrfs_tree.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "base/bytes.hpp"
#include "engine/btrfs/balance.hpp"
#include "engine/btrfs/replace.hpp"
#include "engine/btrfs/search.hpp"
#include "engine/format/format.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

namespace bt = engine::btrfs;
constexpr uint64_t MiB = 1ull << 20, GiB = 1ull << 30;

// File `name`'s bytes: a pattern from the name, so they can be checked again without a copy.
std::string content_of(const std::string& name, uint64_t size) {
  std::mt19937_64 gen(std::hash<std::string>{}(name));
  std::string data(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) store_le64(reinterpret_cast<uint8_t*>(data.data()) + i, gen());
  return data;
}

void write_files(const std::string& dir, const std::string& prefix, int count, uint64_t size) {
  for (int i = 0; i < count; ++i) {
    const std::string name = prefix + std::to_string(i);
    std::ofstream(dir + "/" + name, std::ios::binary) << content_of(name, size);
  }
  ASSERT_TRUE(run_tool({"btrfs", "filesystem", "sync", dir}).ok());
}

void expect_files(const std::string& dir, const std::string& prefix, int count, uint64_t size) {
  for (int i = 0; i < count; ++i) {
    const std::string name = prefix + std::to_string(i);
    std::stringstream got;
    got << std::ifstream(dir + "/" + name, std::ios::binary).rdbuf();
    EXPECT_TRUE(got.str() == content_of(name, size)) << name << " differs";
  }
}

void make_raid1(const std::string& a, const std::string& b, const std::string& label) {
  engine::FormatRequest r;
  r.device = a;
  r.devices = {b};
  r.fstype = "btrfs";
  r.label = label;
  r.profile = "raid1";
  EngineOutcome made = engine_outcome([&] { return nlohmann::json(engine::create_filesystem(r, loop_only_context())); });
  ASSERT_TRUE(made.ok) << made.message;
}

void mount_btrfs(const std::vector<std::string>& devs, const std::string& mnt, const std::string& options) {
  std::vector<std::string> scan{"btrfs", "device", "scan"};
  scan.insert(scan.end(), devs.begin(), devs.end());
  ASSERT_TRUE(run_tool(scan).ok());
  ToolResult m = run_tool({"mount", "-t", "btrfs", "-o", options, devs.front(), mnt});
  ASSERT_TRUE(m.ok()) << m.err;
}

void forget(const std::vector<std::string>& devs) {
  std::vector<std::string> argv{"btrfs", "device", "scan", "--forget"};
  argv.insert(argv.end(), devs.begin(), devs.end());
  run_tool(argv);
}

engine::Context allowing(const std::vector<std::string>& devs) {
  engine::Context ctx;
  ctx.policy.allow_devices = devs;
  return ctx;
}

nlohmann::json status_json(const bt::ReplaceStatus& s) {
  return {{"state", s.state},
          {"progress_permille", s.progress_permille},
          {"src_devid", s.src_devid},
          {"num_write_errors", s.num_write_errors},
          {"num_uncorrectable_read_errors", s.num_uncorrectable_read_errors}};
}

EngineOutcome run_replace(const bt::ReplaceRequest& req, const engine::Context& ctx) {
  return engine_outcome([&] {
    uint64_t last = 0;
    auto s = bt::replace_run(req, ctx, [&](uint64_t done, uint64_t) { last = done; }, nullptr);
    auto j = status_json(s);
    j["last_progress"] = last;
    return j;
  });
}

EngineOutcome check_replace(const bt::ReplaceRequest& req, const engine::Context& ctx) {
  return engine_outcome([&] {
    bt::replace_check_can_start(req, ctx);
    return nlohmann::json("ok");
  });
}

nlohmann::json members_json(const std::string& mnt, const engine::Context& ctx) {
  EngineOutcome o = engine_outcome([&] {
    nlohmann::json out = nlohmann::json::array();
    for (auto& m : bt::members_of(mnt, ctx))
      out.push_back({{"devid", m.devid}, {"path", m.path}, {"missing", m.missing}, {"total", m.total_bytes}});
    return out;
  });
  EXPECT_TRUE(o.ok) << o.message;
  return o.result;
}

std::map<std::string, std::set<std::string>> profiles(const std::string& mnt, const engine::Context& ctx) {
  EngineOutcome o = engine_outcome([&] { return nlohmann::json(bt::chunk_profiles(mnt, ctx)); });
  EXPECT_TRUE(o.ok) << o.message;
  return o.ok ? o.result.get<std::map<std::string, std::set<std::string>>>() : decltype(profiles(mnt, ctx)){};
}

EngineOutcome soft_raid1(const std::string& mnt, const engine::Context& ctx) {
  return engine_outcome([&] {
    bt::BalanceRequest req{mnt, "raid1", false, true};
    auto s = bt::balance_run(req, ctx, {}, nullptr);
    return nlohmann::json{{"state", s.state}, {"completed", s.completed_chunks}, {"considered", s.considered_chunks}};
  });
}

// Chunk logical address -> block-group flags, read from the chunk tree (the test's own reading).
std::map<uint64_t, uint64_t> chunks(const std::string& mnt) {
  io::Fd fs = io::Fd::open(mnt, O_RDONLY | O_DIRECTORY);
  std::map<uint64_t, uint64_t> out;
  bt::SearchRange r;
  r.tree_id = BTRFS_CHUNK_TREE_OBJECTID;
  r.min_objectid = r.max_objectid = BTRFS_FIRST_CHUNK_TREE_OBJECTID;
  r.min_type = r.max_type = BTRFS_CHUNK_ITEM_KEY;
  bt::tree_search(fs, r, [&](const bt::SearchItem& it) {
    out[it.offset] = load_le64(it.data + offsetof(btrfs_chunk, type));
  });
  return out;
}

// `btrfs filesystem df` lines of a profile, GlobalReserve (always "single") left out.
std::vector<std::string> df_lines_with(const std::string& mnt, const std::string& profile) {
  ToolResult df = run_tool({"btrfs", "filesystem", "df", mnt});
  EXPECT_TRUE(df.ok()) << df.err;
  std::vector<std::string> out;
  std::istringstream in(df.out);
  for (std::string l; std::getline(in, l);)
    if (l.find(", " + profile + ":") != std::string::npos && l.rfind("GlobalReserve", 0) != 0) out.push_back(l);
  return out;
}

void expect_scrub_clean(const std::string& mnt) {
  ToolResult scrub = run_tool({"btrfs", "scrub", "start", "-B", mnt});
  EXPECT_TRUE(scrub.ok()) << scrub.out << scrub.err;
  EXPECT_NE(scrub.out.find("no errors found"), std::string::npos) << scrub.out;
}

// Other tests (and other processes) scanning every device hold one exclusively for an instant:
// btrfs check is asked again for a few seconds while it meets EBUSY.
void expect_check_clean(const std::string& dev) {
  ToolResult check;
  for (int attempt = 0; attempt < 5; ++attempt) {
    check = run_btrfs_check({"btrfs", "check", "--readonly", dev});
    if (check.err.find("Device or resource busy") == std::string::npos) break;
  }
  EXPECT_TRUE(check.ok()) << dev << "\n" << check.out << check.err << run_sh("grep -H . /sys/class/block/loop*/holders/* 2>&1; fuser -v /dev/loop* 2>&1").out;
}

std::string label_for(const std::string& tag) { return "repl-" + tag + "-" + std::to_string(getpid()); }

// A RAID1 made by our writer over a and b, mounted (noatime) at mnt until the guard goes; null
// after a failure.
std::unique_ptr<MountGuard> mounted_raid1(const std::string& a, const std::string& b, const std::string& tag,
                                          const std::string& mnt) {
  make_raid1(a, b, label_for(tag));
  EXPECT_TRUE(run_tool({"mkdir", "-p", mnt}).ok());
  if (!::testing::Test::HasFatalFailure()) mount_btrfs({a, b}, mnt, "noatime");
  if (::testing::Test::HasFailure()) return nullptr;
  return std::make_unique<MountGuard>(mnt);
}

TEST(BtrfsReplace, MissingMemberReplacedThenSoftConvertRestoresRaid1) {
  MOS_REQUIRE_ROOT();
  LoopImage a(512 * MiB, 512);
  auto b = std::make_unique<LoopImage>(512 * MiB, 4096);
  make_raid1(a.dev(), b->dev(), label_for("degraded"));
  TempDir dir;
  const std::string mnt = dir / "mnt";
  ASSERT_TRUE(run_tool({"mkdir", "-p", mnt}).ok());
  {
    mount_btrfs({a.dev(), b->dev()}, mnt, "noatime");
    MountGuard guard(mnt);
    write_files(mnt, "before", 4, 8 * MiB);
  }
  forget({a.dev(), b->dev()});
  b.reset();  // the disk dies: its loop device detached, its image gone
  mount_btrfs({a.dev()}, mnt, "degraded,noatime");
  auto guard = std::make_unique<MountGuard>(mnt);
  LoopImage c(512 * MiB, 4096);
  const engine::Context ctx = allowing({a.dev(), c.dev()});
  write_files(mnt, "during", 6, 24 * MiB);  // beyond the raid1 data chunk: single chunks appear
  EXPECT_TRUE(profiles(mnt, ctx)["data"].count("single"));
  EXPECT_FALSE(df_lines_with(mnt, "single").empty());

  nlohmann::json members = members_json(mnt, ctx);
  ASSERT_EQ(members.size(), 2u) << members.dump();
  uint64_t missing = 0;
  for (auto& m : members)
    if (m["missing"].get<bool>()) missing = m["devid"];
  ASSERT_NE(missing, 0u) << members.dump();

  EngineOutcome r = run_replace({mnt, std::to_string(missing), c.dev()}, ctx);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["state"], "finished") << r.result.dump();
  EXPECT_EQ(r.result["src_devid"], missing);
  EXPECT_EQ(r.result["last_progress"], 1000);
  EXPECT_EQ(r.result["num_write_errors"], 0);
  for (auto& m : members_json(mnt, ctx)) {
    EXPECT_FALSE(m["missing"].get<bool>()) << m.dump();
  }
  ToolResult show = run_tool({"btrfs", "filesystem", "show", mnt});
  EXPECT_EQ(show.out.find("missing"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find(c.dev()), std::string::npos) << show.out;

  // Soft: only the single chunks move; every raid1 chunk keeps its logical address.
  const auto before = chunks(mnt);
  uint64_t not_raid1 = 0;
  for (auto& [logical, type] : before) not_raid1 += !(type & BTRFS_BLOCK_GROUP_RAID1);
  ASSERT_GT(not_raid1, 0u);
  EngineOutcome bal = soft_raid1(mnt, ctx);
  ASSERT_TRUE(bal.ok) << bal.message;
  EXPECT_EQ(bal.result["state"], "finished");
  EXPECT_EQ(bal.result["completed"], not_raid1) << bal.result.dump();
  const auto after = chunks(mnt);
  for (auto& [logical, type] : before) {
    if (type & BTRFS_BLOCK_GROUP_RAID1) {
      EXPECT_EQ(after.count(logical), 1u) << "raid1 chunk " << logical << " moved";
    }
  }
  for (auto& [type, set] : profiles(mnt, ctx)) {
    EXPECT_EQ(set, std::set<std::string>{"raid1"}) << type;
  }
  EXPECT_TRUE(df_lines_with(mnt, "single").empty());

  expect_scrub_clean(mnt);
  expect_files(mnt, "before", 4, 8 * MiB);
  expect_files(mnt, "during", 6, 24 * MiB);
  guard.reset();
  expect_check_clean(a.dev());
  expect_check_clean(c.dev());
  forget({a.dev(), c.dev()});
}

TEST(BtrfsReplace, RefusalsChangeNoDeviceThenPresentMemberReplaced) {
  MOS_REQUIRE_ROOT();
  LoopImage a(256 * MiB, 4096), b(256 * MiB, 512);
  LoopImage c(256 * MiB, 512), signed_dev(256 * MiB, 512), small(128 * MiB, 4096), refused(256 * MiB, 512);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", signed_dev.dev()}).ok());
  TempDir dir;
  const std::string mnt = dir / "mnt";
  auto guard = mounted_raid1(a.dev(), b.dev(), "present", mnt);
  ASSERT_TRUE(guard);
  write_files(mnt, "file", 3, 8 * MiB);
  const engine::Context ctx = allowing({a.dev(), b.dev(), c.dev(), signed_dev.dev(), small.dev()});

  std::vector<const LoopImage*> all{&a, &b, &c, &signed_dev, &small, &refused};
  auto hashes = [&] {
    run_tool({"sync"});
    std::vector<std::string> h;
    for (auto* img : all) h.push_back(sparse_digest(img->file()));
    return h;
  };
  const auto untouched = hashes();
  struct Refusal {
    bt::ReplaceRequest req;
    int code;
    std::string says;
  };
  const Refusal refusals[] = {
      {{mnt, b.dev(), signed_dev.dev()}, -32001, "not blank"},
      {{mnt, b.dev(), small.dev()}, -32001, "smaller"},
      {{mnt, b.dev(), refused.dev()}, -32001, "not allowed"},
      {{mnt, "7", c.dev()}, -32002, "not a device"},
      {{mnt, "99999999999999999999999", c.dev()}, -32001, "out of range"},
  };
  for (auto& f : refusals) {
    for (EngineOutcome o : {check_replace(f.req, ctx), run_replace(f.req, ctx)}) {
      EXPECT_FALSE(o.ok) << f.req.source << " -> " << f.req.target;
      EXPECT_EQ(o.code, f.code) << o.message;
      EXPECT_NE(o.message.find(f.says), std::string::npos) << o.message;
    }
  }
  EXPECT_EQ(hashes(), untouched);

  // Already raid1 everywhere: a soft convert relocates nothing.
  const auto chunks_before = chunks(mnt);
  EngineOutcome bal = soft_raid1(mnt, ctx);
  ASSERT_TRUE(bal.ok) << bal.message;
  EXPECT_EQ(bal.result["completed"], 0) << bal.result.dump();
  EXPECT_EQ(chunks(mnt), chunks_before);

  ASSERT_TRUE(check_replace({mnt, b.dev(), c.dev()}, ctx).ok);
  EngineOutcome r = run_replace({mnt, b.dev(), c.dev()}, ctx);
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.result["state"], "finished") << r.result.dump();
  EXPECT_EQ(r.result["src_devid"], 2);
  nlohmann::json members = members_json(mnt, ctx);
  ASSERT_EQ(members.size(), 2u) << members.dump();
  EXPECT_EQ(members[0]["path"], a.dev());
  EXPECT_EQ(members[1]["path"], c.dev());
  ToolResult show = run_tool({"btrfs", "filesystem", "show", mnt});
  EXPECT_EQ(show.out.find(b.dev() + "\n"), std::string::npos) << show.out;
  EngineOutcome st = engine_outcome([&] { return status_json(bt::replace_status(mnt, ctx)); });
  ASSERT_TRUE(st.ok) << st.message;
  EXPECT_EQ(st.result["state"], "finished");
  EngineOutcome cancel = engine_outcome([&] { return status_json(bt::replace_cancel(mnt, ctx)); });
  EXPECT_EQ(cancel.code, -32002) << cancel.message;

  expect_scrub_clean(mnt);
  expect_files(mnt, "file", 3, 8 * MiB);
  guard.reset();
  expect_check_clean(a.dev());
  expect_check_clean(c.dev());
  forget({a.dev(), b.dev(), c.dev()});
}


// The copy of ~200 MiB takes the kernel about a second on loop devices: long enough for a cancel
// sent at the first status poll (200 ms) and for joining a replace started a moment before.
TEST(BtrfsReplace, CancelledByFlagThenJoinsOneAlreadyRunning) {
  MOS_REQUIRE_ROOT();
  LoopImage a(GiB, 512), b(GiB, 4096), t1(GiB, 4096), t2(GiB, 512), t3(GiB, 512);
  TempDir dir;
  const std::string mnt = dir / "mnt";
  auto guard = mounted_raid1(a.dev(), b.dev(), "join", mnt);
  ASSERT_TRUE(guard);
  write_files(mnt, "big", 6, 32 * MiB);
  const engine::Context ctx = allowing({a.dev(), b.dev(), t1.dev(), t2.dev(), t3.dev()});

  EngineOutcome cancelled = engine_outcome([&] {
    std::atomic<bool> cancel{true};
    return status_json(bt::replace_run({mnt, "2", t1.dev()}, ctx, {}, &cancel));
  });
  ASSERT_TRUE(cancelled.ok) << cancelled.message;
  EXPECT_EQ(cancelled.result["state"], "canceled") << cancelled.result.dump();
  EXPECT_LT(cancelled.result["progress_permille"].get<uint64_t>(), 1000u);
  nlohmann::json members = members_json(mnt, ctx);
  ASSERT_EQ(members.size(), 2u) << members.dump();
  EXPECT_EQ(members[1]["path"], b.dev());
  EngineOutcome none = engine_outcome([&] { return status_json(bt::replace_cancel(mnt, ctx)); });
  EXPECT_EQ(none.code, -32002) << none.message;

  // As after a daemon restart: a replace is running that this process did not start.
  // Without -B the tool daemonizes before its START ioctl: it returns before the kernel has
  // begun (the state still reads "canceled" from above). Wait until the kernel reports it started.
  ToolResult started = run_tool({"btrfs", "replace", "start", "2", t2.dev(), mnt});
  ASSERT_TRUE(started.ok()) << started.err;
  std::string state;
  for (int i = 0; i < 3000 && state != "started" && state != "finished"; ++i) {
    state = bt::replace_status(mnt, ctx).state;
    if (state != "started") std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // 192 MiB copy: if the kernel finished before we looked, the case below is not tested (fail loudly).
  ASSERT_EQ(state, "started") << "the replace the tool started is not running";
  EngineOutcome other = check_replace({mnt, "2", t3.dev()}, ctx);
  EXPECT_EQ(other.code, -32000) << other.message;
  EXPECT_NE(other.message.find("already running"), std::string::npos) << other.message;
  EngineOutcome joined = run_replace({mnt, "2", t2.dev()}, ctx);
  ASSERT_TRUE(joined.ok) << joined.message;
  EXPECT_EQ(joined.result["state"], "finished") << joined.result.dump();
  EXPECT_EQ(joined.result["last_progress"], 1000);
  members = members_json(mnt, ctx);
  ASSERT_EQ(members.size(), 2u) << members.dump();
  EXPECT_EQ(members[1]["path"], t2.dev());

  expect_scrub_clean(mnt);
  expect_files(mnt, "big", 6, 32 * MiB);
  guard.reset();
  expect_check_clean(a.dev());
  expect_check_clean(t2.dev());
  forget({a.dev(), b.dev(), t1.dev(), t2.dev()});
}

}  // namespace
}  // namespace mos::test
