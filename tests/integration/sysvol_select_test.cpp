// mos_sysvol never writes what is not blank: signed, foreign-GPT, unnamed-data, mounted and
// small disks are refused with their bytes unchanged; --dry-run writes nothing; the binary is
// static and does not exec (the engine entry point runs under the exec-denying sandbox).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>

#include "engine/sysvol/disks.hpp"
#include "engine/sysvol/run.hpp"
#include "engine/sysvol/steps.hpp"
#include "tests/integration/sysvol_support.hpp"
#include "tests/support/engine_outcome.hpp"

namespace mos::test {
namespace {

constexpr uint64_t GiB = 1ull << 30;

bool skipped_with(const nlohmann::json& report, const std::string& dev, const std::string& why_part) {
  for (const auto& s : report["skipped"])
    if (s["what"] == dev && s["why"].get<std::string>().find(why_part) != std::string::npos) return true;
  return false;
}

TEST(SysvolDisks, NonBlankDisksAreRefusedAndUntouched) {
  MOS_REQUIRE_ROOT();
  // No discard, no zeroing by mkfs: a loop device may finish those after mkfs's later writes,
  // so the image would keep changing on its own after mkfs returned (seen: the journal block).
  LoopImage signed_disk(8 * GiB), foreign(8 * GiB), unnamed(8 * GiB), mounted(8 * GiB), small(2 * GiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", signed_disk.dev()}).ok());
  ASSERT_TRUE(run_tool({"sgdisk", "-n", "1:0:+100M", "-c", "1:windata", "-t", "1:0700", foreign.dev()}).ok());
  // Bytes no prober names (an unknown format), only in the last MiB.
  ASSERT_TRUE(run_sh("head -c 4096 /dev/urandom | dd of=" + unnamed.dev() + " bs=4096 seek=" +
                     std::to_string(8 * GiB / 4096 - 10) + " conv=notrunc,fsync status=none").ok());
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", mounted.dev()}).ok());
  TempDir mnt;
  ASSERT_TRUE(run_tool({"mount", "-o", "ro", mounted.dev(), mnt.path()}).ok());  // ro: the kernel writes nothing
  MountGuard guard(mnt.path());
  run_tool({"sync"});

  std::vector<const LoopImage*> all = {&signed_disk, &foreign, &unnamed, &mounted, &small};
  std::vector<std::string> before;
  for (const auto* i : all) before.push_back(sparse_digest(i->file()));

  SysvolEnv env;
  auto r = env.run(allow_list(all));
  EXPECT_NE(r.exit_code, 0) << "nothing to provision is not ready\n" << r.log;
  ASSERT_FALSE(r.report.is_null()) << r.log;
  EXPECT_EQ(r.report["ready"], false);
  EXPECT_TRUE(skipped_with(r.report, signed_disk.dev(), "ext4")) << r.report.dump(2);
  EXPECT_TRUE(skipped_with(r.report, foreign.dev(), "partition table")) << r.report.dump(2);
  EXPECT_TRUE(skipped_with(r.report, unnamed.dev(), "no prober names")) << r.report.dump(2);
  EXPECT_TRUE(skipped_with(r.report, mounted.dev(), "mounted")) << r.report.dump(2);
  EXPECT_TRUE(skipped_with(r.report, small.dev(), "too small")) << r.report.dump(2);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(sparse_digest(all[i]->file()), before[i]) << all[i]->dev();
}

TEST(SysvolDisks, BlankDiskNextToForeignOneOnlyBlankIsUsed) {
  MOS_REQUIRE_ROOT();
  LoopImage foreign(8 * GiB), blank(8 * GiB);
  ASSERT_TRUE(run_tool({"mkfs.btrfs", "-q", "-f", "-K", "-L", "theirs", foreign.dev()}).ok());
  std::string before = sparse_digest(foreign.file());
  SwapGuard swap(blank.dev() + "p4");
  SysvolEnv env;
  auto r = env.run(allow_list({&foreign, &blank}));
  ASSERT_EQ(r.exit_code, 0) << r.log;
  ::swapoff((blank.dev() + "p4").c_str());
  EXPECT_EQ(r.report["plan"].size(), 1u) << r.report.dump(2);
  EXPECT_EQ(r.report["plan"][0]["disk"], blank.dev());
  EXPECT_EQ(sparse_digest(foreign.file()), before);
}

TEST(SysvolDisks, DryRunPrintsThePlanAndWritesNothing) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB, 4096);
  std::string before = sparse_digest(img.file());
  SysvolEnv env;
  auto r = env.run(allow_list({&img}), {"--dry-run"});
  EXPECT_EQ(r.exit_code, 0) << r.log;
  ASSERT_FALSE(r.report.is_null()) << r.log;
  EXPECT_EQ(r.report["dry_run"], true);
  ASSERT_EQ(r.report["plan"].size(), 1u);
  const auto& parts = r.report["plan"][0]["partitions"];
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[1]["size_bytes"], 260ull << 20) << "4Kn ESP";
  EXPECT_TRUE(r.report.at("done").empty()) << r.report.dump(2);
  EXPECT_EQ(sparse_digest(img.file()), before);
  EXPECT_TRUE(run_tool({"blkid", "-p", img.dev()}).exit_code != 0) << "still blank for blkid";
}

// The engine entry point, in a private mount namespace under the seccomp filter that makes
// execve fail: a first boot that shelled out anywhere would fail here.
TEST(SysvolDisks, FirstBootRunsWithoutExec) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * GiB);
  SwapGuard swap(img.dev() + "p4");
  SysvolEnv env;
  auto o = engine_outcome([&] {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      throw std::runtime_error("private mount namespace");
    engine::sysvol::RunOptions opts;
    opts.config_path = env.config();
    opts.cmdline_path = "/nonexistent";
    opts.root = env.root();
    opts.policy = engine::Policy::from_globs(allow_list({&img}));
    opts.load_modules = false;
    auto rep = engine::sysvol::run(opts, [](int, const std::string&) {});
    return nlohmann::json(rep);
  });
  ASSERT_TRUE(o.ok) << o.message;
  EXPECT_EQ(o.result["ready"], true) << o.result.dump(2);
  EXPECT_EQ(o.result["mode"], "fresh");
}

TEST(SysvolBinary, IsStaticallyLinked) {
#ifdef MOS_UNDER_SANITIZER
  GTEST_SKIP() << "the sanitizer build links mos_sysvol dynamically (ASan cannot link -static); the gcc build checks this";
#endif
  auto f = run_tool({"file", "-L", sysvol_bin()});
  ASSERT_TRUE(f.ok()) << f.err;
  EXPECT_NE(f.out.find("statically linked"), std::string::npos) << f.out;
  EXPECT_EQ(f.out.find("dynamically linked"), std::string::npos) << f.out;
  std::error_code ec;
  auto size = std::filesystem::file_size(sysvol_bin(), ec);
  RecordProperty("mos_sysvol_bytes", std::to_string(size));
  std::printf("mos_sysvol: %ju bytes\n", static_cast<uintmax_t>(size));
}

// Removable media (sysfs removable = 1) serve no MOS role unless configured: a USB stick labelled
// MOSSWAP or MOSDATA is not swapped on or mounted as the node's data by being plugged in. Loop
// devices are never removable, so the decision is checked on device facts.
namespace removable {

engine::Device device(const std::string& path, const std::string& fstype, const std::string& label, bool removable) {
  engine::Device d;
  d.path = path;
  d.name = path.substr(5);
  d.kind = "partition";
  d.parent = path.substr(0, 8);
  d.fstype = fstype;
  d.label = label;
  d.removable = removable;
  return d;
}

TEST(SysvolRemovable, MosRolesFromRemovableMediaOnlyByConfiguration) {
  std::vector<engine::Device> all = {device("/dev/sda3", "swap", "MOSSWAP", false),
                                     device("/dev/sdb1", "swap", "MOSSWAP", true),
                                     device("/dev/sdb2", "btrfs", "MOSDATA", true),
                                     device("/dev/sdb3", "ext4", "MOSBOOT", true)};
  engine::sysvol::Config cfg = engine::sysvol::default_config();
  EXPECT_FALSE(engine::sysvol::may_serve_mos_role(all[0], cfg));
  auto why = engine::sysvol::may_serve_mos_role(all[1], cfg);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("allow_removable"), std::string::npos) << *why;
  auto found = engine::sysvol::find_mos_storage(all, engine::Policy{}, cfg);
  ASSERT_EQ(found.swap.size(), 1u);
  EXPECT_EQ(found.swap[0].path, "/dev/sda3");
  EXPECT_TRUE(found.data.empty() && found.boot.empty());
  EXPECT_EQ(found.ignored.size(), 3u) << "each refused MOS device is reported";

  engine::sysvol::apply_cmdline(cfg, "quiet mosremovable=1");
  EXPECT_TRUE(cfg.allow_removable);
  found = engine::sysvol::find_mos_storage(all, engine::Policy{}, cfg);
  EXPECT_EQ(found.swap.size(), 2u);
  EXPECT_EQ(found.data.size(), 1u);
  EXPECT_EQ(found.boot.size(), 1u);
  EXPECT_TRUE(found.ignored.empty());

  cfg = engine::sysvol::config_from_toml("[storage]\nallow_removable = true\n", "test.toml");
  EXPECT_TRUE(cfg.allow_removable) << (cfg.warnings.empty() ? "" : cfg.warnings[0]);
  cfg = engine::sysvol::config_from_toml("[storage]\nallow_removable = \"yes\"\n", "test.toml");
  EXPECT_FALSE(cfg.allow_removable);
  EXPECT_FALSE(cfg.warnings.empty()) << "a non-boolean is refused with a warning";
}

}  // namespace removable

}  // namespace
}  // namespace mos::test
