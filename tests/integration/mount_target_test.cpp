// Mount targets: only at or beneath ctx.mount_prefixes, never / nor the kernel's
// pseudo-filesystems, walked without following symlinks, missing directories created only for
// allowed targets; unmount walks its path the same way. Every call runs in a private mount
// namespace (a refusal that failed would mount over a system path of this child only), and the
// source device's bytes are hashed before and after.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "engine/mount.hpp"
#include "ioctl/mountinfo.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

void private_namespace() {
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    throw std::runtime_error("private mount namespace");
}

// Each step's outcome as {"ok":bool,"code":int,"message":str,"mounted":bool (target in mountinfo
// afterwards)}, all from one sandboxed child in its own mount namespace.
using Step = std::function<nlohmann::json(const engine::Context&)>;

nlohmann::json run_in_namespace(const engine::Context& ctx, const std::vector<std::pair<std::string, Step>>& steps) {
  EngineOutcome o = engine_outcome([&] {
    private_namespace();
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, step] : steps) {
      nlohmann::json r;
      try {
        r = step(ctx);
        r["ok"] = true;
      } catch (const Error& e) {
        r = {{"ok", false}, {"code", static_cast<int>(e.code())}, {"message", e.what()}};
      }
      out[name] = r;
    }
    return out;
  });
  if (!o.ok) throw std::runtime_error(o.message);
  return o.result;
}

bool mounted_at(const std::string& target) {
  for (auto& m : io::read_mountinfo())
    if (m.mount_point == target) return true;
  return false;
}

Step mount_step(const std::string& dev, const std::string& target) {
  return [=](const engine::Context& ctx) {
    nlohmann::json j = engine::mount({dev, target, "ext4", ""}, ctx);
    j["mounted"] = mounted_at(target);
    return j;
  };
}

Step unmount_step(const std::string& path) {
  return [=](const engine::Context& ctx) { return nlohmann::json(engine::unmount(path, false, ctx)); };
}

struct Ext4Image {
  LoopImage img{64 * MiB};
  Ext4Image() { EXPECT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", img.dev()}).ok()); }
};

// A unique name for this run, removed (with what was made beneath it) at the end.
struct ScratchName {
  std::string path;
  explicit ScratchName(const std::string& dir, const std::string& suffix = "")
      : path(dir + "/mos-target-test-" + std::to_string(::getpid()) + suffix) {}
  ~ScratchName() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

void expect_refused(const nlohmann::json& r, const std::string& name, const std::string& says) {
  ASSERT_TRUE(r.contains(name)) << name;
  const auto& s = r[name];
  EXPECT_FALSE(s["ok"].get<bool>()) << name << ": " << s.dump();
  EXPECT_EQ(s.value("code", 0), -32001) << name << ": " << s.dump();
  EXPECT_NE(s.value("message", "").find(says), std::string::npos) << name << ": " << s.dump();
}

TEST(MountTarget, SystemPathsEscapesAndLinksAreRefusedAndNothingIsCreated) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  const std::string before = sha256_of(fs.img.dev());
  ScratchName link("/mnt");        // a symlink to /etc planted under an allowed prefix
  ScratchName opt_dir("/opt");     // not under any prefix: must not appear
  ASSERT_EQ(::symlink("/etc", link.path.c_str()), 0);
  const std::string etc_probe = "/etc/mos-target-test-" + std::to_string(::getpid());

  engine::Context ctx = loop_only_context();
  ctx.mount_prefixes = {"/mnt", "/var/cache", "/media", "/boot", "/run"};
  const std::string dev = fs.img.dev();
  nlohmann::json r = run_in_namespace(ctx, {
      {"etc", mount_step(dev, "/etc")},
      {"usr_local_sbin", mount_step(dev, "/usr/local/sbin")},
      {"root", mount_step(dev, "/")},
      {"root_double_slash", mount_step(dev, "//")},
      {"proc", mount_step(dev, "/proc")},
      {"proc_sub", mount_step(dev, "/proc/sys")},
      {"sys", mount_step(dev, "/sys/kernel")},
      {"dev_shm", mount_step(dev, "/dev/shm")},
      {"link", mount_step(dev, link.path)},
      {"link_below", mount_step(dev, link.path + "/" + etc_probe.substr(5))},
      {"dotdot", mount_step(dev, "/mnt/../etc")},
      {"dot", mount_step(dev, "/mnt/./x")},
      {"relative", mount_step(dev, "mnt/x")},
      {"opt_missing", mount_step(dev, opt_dir.path + "/a/b")},
      {"prefix_lookalike", mount_step(dev, "/mntx/y")},
      {"unmount_etc", unmount_step("/etc")},
      {"unmount_relative", unmount_step("proc")},
  });
  expect_refused(r, "etc", "not at or beneath an allowed prefix");
  expect_refused(r, "usr_local_sbin", "not at or beneath an allowed prefix");
  expect_refused(r, "root", "/ is never a mount target");
  expect_refused(r, "root_double_slash", "/ is never a mount target");
  expect_refused(r, "proc", "kernel pseudo-filesystem");
  expect_refused(r, "proc_sub", "kernel pseudo-filesystem");
  expect_refused(r, "sys", "kernel pseudo-filesystem");
  expect_refused(r, "dev_shm", "kernel pseudo-filesystem");
  expect_refused(r, "link", "is a symlink");
  expect_refused(r, "link_below", "is a symlink");
  expect_refused(r, "dotdot", "'..'");
  expect_refused(r, "dot", "'.'");
  expect_refused(r, "relative", "absolute");
  expect_refused(r, "opt_missing", "not at or beneath an allowed prefix");
  expect_refused(r, "prefix_lookalike", "not at or beneath an allowed prefix");
  expect_refused(r, "unmount_etc", "not at or beneath an allowed prefix");
  expect_refused(r, "unmount_relative", "absolute");
  EXPECT_FALSE(exists(opt_dir.path)) << "a refused target's directory was created";
  EXPECT_FALSE(exists(etc_probe)) << "a directory was created through the symlink";
  EXPECT_FALSE(exists("/mntx"));
  EXPECT_EQ(sha256_of(fs.img.dev()), before);
  // Nothing leaked out of the child's namespace either.
  EXPECT_FALSE(mounted_at("/etc"));
}

TEST(MountTarget, AConfiguredPseudoFilesystemPrefixStillRefuses) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  const std::string before = sha256_of(fs.img.dev());
  ScratchName proc_under_mnt("/mnt", "-proc");  // a procfs mounted beneath an allowed prefix
  engine::Context ctx = loop_only_context();
  ctx.mount_prefixes = {"/proc", "/sys", "/", "/dev", "/mnt"};
  nlohmann::json r = run_in_namespace(ctx, {
      {"mount_procfs", [&](const engine::Context&) {
         if (::mkdir(proc_under_mnt.path.c_str(), 0755) != 0 ||
             ::mount("proc", proc_under_mnt.path.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
           throw std::runtime_error("mounting a procfs for the test");
         return nlohmann::json::object();
       }},
      {"procfs_under_prefix", mount_step(fs.img.dev(), proc_under_mnt.path + "/sys")},
      {"procfs_itself", mount_step(fs.img.dev(), proc_under_mnt.path)},
      {"proc", mount_step(fs.img.dev(), "/proc/mos-target-test")},
      {"sys_fs", mount_step(fs.img.dev(), "/sys/fs/mos-target-test")},
      {"etc_via_root_prefix", mount_step(fs.img.dev(), "/etc")},
      {"dev", mount_step(fs.img.dev(), "/dev/mos-target-test")},
  });
  ASSERT_TRUE(r["mount_procfs"]["ok"].get<bool>()) << r["mount_procfs"].dump();
  expect_refused(r, "procfs_under_prefix", "lies on a kernel pseudo-filesystem");
  expect_refused(r, "procfs_itself", "lies on a kernel pseudo-filesystem");
  expect_refused(r, "proc", "kernel pseudo-filesystem");
  expect_refused(r, "sys_fs", "kernel pseudo-filesystem");
  expect_refused(r, "etc_via_root_prefix", "not at or beneath an allowed prefix");
  expect_refused(r, "dev", "kernel pseudo-filesystem");
  EXPECT_FALSE(exists("/dev/mos-target-test"));
  EXPECT_EQ(sha256_of(fs.img.dev()), before);
}

TEST(MountTarget, AMissingDirectoryUnderAPrefixIsCreatedAndMountedThere) {
  MOS_REQUIRE_ROOT();
  Ext4Image fs;
  ScratchName dir("/mnt");
  const std::string target = dir.path + "/a/b";
  ScratchName link("/run");  // a link to the mount point: unmount must not follow it
  engine::Context ctx = loop_only_context();
  ctx.mount_prefixes = {"/mnt", "/run"};
  nlohmann::json r = run_in_namespace(ctx, {
      {"mount", mount_step(fs.img.dev(), target)},
      {"make_link", [&](const engine::Context&) {
         if (::symlink(target.c_str(), link.path.c_str()) != 0) throw std::runtime_error("symlink");
         return nlohmann::json::object();
       }},
      {"unmount_link", unmount_step(link.path)},
      {"still_mounted", [&](const engine::Context&) { return nlohmann::json{{"mounted", mounted_at(target)}}; }},
      {"unmount_dotdot", unmount_step(target + "/../b")},
      {"unmount", unmount_step(target)},
      {"after", [&](const engine::Context&) { return nlohmann::json{{"mounted", mounted_at(target)}}; }},
  });
  ASSERT_TRUE(r["mount"]["ok"].get<bool>()) << r["mount"].dump();
  EXPECT_EQ(r["mount"]["target"], target);
  EXPECT_TRUE(r["mount"]["mounted"].get<bool>());
  EXPECT_EQ(r["mount"]["source"], fs.img.dev());
  expect_refused(r, "unmount_link", "is a symlink");
  EXPECT_TRUE(r["still_mounted"]["mounted"].get<bool>());
  expect_refused(r, "unmount_dotdot", "'..'");
  ASSERT_TRUE(r["unmount"]["ok"].get<bool>()) << r["unmount"].dump();
  EXPECT_FALSE(r["after"]["mounted"].get<bool>());
  // The directories were made on the host (mkdir is not namespaced), the mount was not.
  struct stat st {};
  ASSERT_EQ(::lstat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_FALSE(mounted_at(target));
  EXPECT_TRUE(run_tool({"e2fsck", "-fn", fs.img.dev()}).ok());
}

}  // namespace
}  // namespace mos::test
