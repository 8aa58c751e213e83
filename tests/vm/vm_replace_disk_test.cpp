// Replacing a disk of a two-disk node end to end (issue 20 part 2), booted for real: mos_sysvol
// provisions two disks and files are written on MOSDATA and /boot; disk b is removed and the node
// boots degraded with a blank disk in its place and gets more files (in a single chunk the degraded
// kernel allocates); in the same guest the daemon runs `mos-volmgr replace-disk /dev/vdb --wait`;
// the next boot must find both md arrays clean with two members, btrfs with both devices and no
// single data or metadata chunk, a clean scrub, every file byte-equal and the new disk's swap on;
// the host then judges both powered-off images (mdadm --examine, fsck.fat, e2fsck, btrfs check).
// The crash case: a copy of the provisioned disk a goes the same way, but the daemon aborts at
// `replace:during-btrfs` and power is cut; the next boot reports the unfinished replacement, the
// same command finishes it, same checks; in that last guest a third, blank disk then replaces the
// present disk b with `--failed` (same checks, b a member of nothing), and a last boot with b still
// attached must bring up the node of a and the new disk whole. Seven guests. btrfs-progs, mdadm, fallocate and rm are
// shipped in this test's initramfs only (with their ldd closure).
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "tests/integration/sysvol_support.hpp"
#include "tests/support/harness.hpp"
#include "tests/vm/mos_oracles.hpp"
#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t kDiskBytes = 8ull << 30;  // mos_sysvol's smallest disk: the cheapest rebuild
const char* kBtrfs = "/usr/bin/btrfs";
const char* kMdadm = "/usr/sbin/mdadm";
const char* kData = "/var/cache/system";  // a MOSDATA subvolume
const char* kSocket = "/run/d/d.sock";
const char* kCrashPoint = "replace:during-btrfs";

struct SeededFile {
  const char* path;
  uint64_t bytes;
  uint64_t seed;
};
// Written on the whole node, then while it ran degraded.
const std::vector<SeededFile> kBefore = {{"/var/cache/system/before.bin", 8 * MiB + 123, 2001},
                                         {"/boot/before.bin", 2 * MiB + 7, 2002}};
const std::vector<SeededFile> kDegraded = {{"/var/cache/system/degraded.bin", 16 * MiB + 5, 2003},
                                           {"/boot/degraded.bin", 2 * MiB + 9, 2004}};
// The node's first data chunk has ~600 MiB (its RAID1 chunk, 604 MiB measured); a preallocated
// filler of more than that makes the degraded kernel allocate a single chunk, where the degraded
// file then lands; the filler is removed again, so the replacement copies little more than the files.
const char* kFiller = "/var/cache/system/filler";
constexpr const char* kFillerSize = "640M";
const char* kFallocate = "/usr/bin/fallocate";
const char* kRm = "/usr/bin/rm";

json exec_step(std::vector<std::string> argv, int timeout_ms = 120000) {
  return {{"op", "exec"}, {"argv", std::move(argv)}, {"timeout_ms", timeout_ms}};
}
json btrfs_df_step() { return exec_step({kBtrfs, "filesystem", "df", kData}); }

VmSpec replace_spec(const std::string& name, const std::vector<VmDisk>& disks, json steps) {
  VmSpec spec = sysvol_spec(name, disks, std::move(steps));
  ship_with_libraries(spec, std::string(MOS_BIN_DIR) + "/mos_volmgrd", "/bin/mos_volmgrd");
  spec.binaries["/bin/mos-volmgr"] = std::string(MOS_BIN_DIR) + "/mos-volmgr";
  ship_with_libraries(spec, kBtrfs);
  ship_with_libraries(spec, kMdadm);
  ship_with_libraries(spec, kFallocate);
  ship_with_libraries(spec, kRm);
  spec.timeout_s = 1200;
  return spec;
}

// Appends steps and remembers where the interesting ones are.
struct Steps {
  json list = json::array();
  size_t add(json step) {
    list.push_back(std::move(step));
    return list.size() - 1;
  }
};

void add_writes(Steps& s, const std::vector<SeededFile>& files) {
  for (const auto& f : files) s.add(write_step(f.path, f.bytes, f.seed));
  s.add(op_step("sync"));
}

// The daemon on its own socket, allowed the guest's disks and arrays; `env` arms a crash point.
void add_daemon(Steps& s, const json& env = json::object()) {
  s.add({{"op", "mkdir"}, {"path", "/run/d"}, {"mode", 0700}});
  json spawn = {{"op", "spawn"},
                {"name", "d"},
                {"argv", {"/bin/mos_volmgrd", "--socket", kSocket, "--run-dir", "/run/d/run", "--state-dir", "/tmp/d",
                          "--allow-devices", "/dev/vd*,/dev/md*"}}};
  if (!env.empty()) spawn["env"] = env;
  s.add(spawn);
  s.add({{"op", "wait_text"}, {"path", "/tmp/spawn-d.stderr"}, {"text", "listening on"}});
}

// `failed` empty: the missing disk is replaced; else that present disk (`--failed`).
size_t add_replace(Steps& s, const std::string& fresh = "/dev/vdb", const std::string& failed = "") {
  std::vector<std::string> argv = {"/bin/mos-volmgr", "--socket", kSocket, "replace-disk", fresh, "--wait", "--json"};
  if (!failed.empty()) argv.insert(argv.end(), {"--failed", failed});
  json step = exec_step(std::move(argv), 900000);
  step["any_outcome"] = true;  // judged on the host, with the CLI's words
  return s.add(step);
}

void add_daemon_stop(Steps& s) {
  s.add({{"op", "signal"}, {"name", "d"}, {"signal", 15}});
  s.add({{"op", "wait_exit"}, {"name", "d"}, {"timeout_ms", 60000}});
}

// The replace-disk run ended well; a build without the operation fails here, loudly.
void expect_replaced(const VmResult& r, size_t step) {
  const json* s = r.step(step);
  ASSERT_NE(s, nullptr) << r.explain();
  const std::string said = s->value("stdout", "") + s->value("stderr", "");
  if (said.find("Method not found") != std::string::npos || said.find("A subcommand is required") != std::string::npos ||
      said.find("not expected") != std::string::npos)
    FAIL() << "storage.replace_disk / `mos-volmgr replace-disk` is not in this build: " << said;
  EXPECT_EQ(s->value("exit_code", json(nullptr)), 0) << s->dump(2) << "\n" << r.console_tail(30);
  std::printf("[ VM time  ] replace-disk --wait: %.1f s in the guest\n", s->value("ms", 0.0) / 1000);
}

std::string text_of(const VmResult& r, size_t step) {
  const json* s = r.step(step);
  return s ? s->value("stdout", "") + s->value("text", "") : std::string();
}

// Lines of `btrfs filesystem df` for data or metadata with the single profile.
std::vector<std::string> single_chunks(const std::string& df) {
  std::vector<std::string> out;
  std::istringstream lines(df);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind("Data, single", 0) == 0 || line.rfind("Metadata, single", 0) == 0) out.push_back(line);
  return out;
}

// The boot after a replacement: what the guest shows, then the powered-off images on the host.
struct FinalChecks {
  size_t mdstat, detail_efi, detail_boot, show, df, scrub, swaps;
};

FinalChecks add_final_checks(Steps& s) {
  FinalChecks c{};
  c.mdstat = s.add({{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}});
  c.detail_efi = s.add(exec_step({kMdadm, "--detail", "/dev/md_mosefi"}));
  c.detail_boot = s.add(exec_step({kMdadm, "--detail", "/dev/md_mosboot"}));
  c.show = s.add(exec_step({kBtrfs, "filesystem", "show", kData}));
  c.df = s.add(btrfs_df_step());
  s.add({{"op", "mkdir"}, {"path", "/var/lib/btrfs"}});  // where scrub keeps its status file
  c.scrub = s.add(exec_step({kBtrfs, "scrub", "start", "-B", kData}, 600000));
  c.swaps = s.add(swaps_step());
  for (const auto& f : kBefore) s.add(read_step(f.path, f.bytes, f.seed));
  for (const auto& f : kDegraded) s.add(read_step(f.path, f.bytes, f.seed));
  return c;
}

// after_crash: the ESP was mounted when power was cut; vfat then keeps its dirty bit through later
// clean boots (fsck.fat -n exits 1 for that alone), as in the mos_sysvol crash tests.
// In the guest: both arrays and MOSDATA whole with `fresh` (the disk replaced last, "vdb" or "vdc").
void judge_guest(const VmResult& r, const FinalChecks& c, const std::string& fresh) {
  for (size_t step : {c.detail_efi, c.detail_boot}) {
    const std::string detail = text_of(r, step);
    for (const char* want : {"Active Devices : 2", "Working Devices : 2", "Failed Devices : 0"})
      EXPECT_NE(detail.find(want), std::string::npos) << want << "\n" << detail;
    for (const char* bad : {"degraded", "recovering", "resyncing", "removed"})
      EXPECT_EQ(detail.find(bad), std::string::npos) << bad << "\n" << detail;
  }
  const std::string show = text_of(r, c.show);
  EXPECT_NE(show.find("Total devices 2"), std::string::npos) << show;
  EXPECT_EQ(show.find("missing"), std::string::npos) << show;
  EXPECT_NE(show.find("/dev/" + fresh + "5"), std::string::npos) << "the new disk's MOSDATA is a member\n" << show;
  const std::string df = text_of(r, c.df);
  EXPECT_TRUE(single_chunks(df).empty()) << "single chunks left after the replacement:\n" << df;
  EXPECT_NE(df.find("Data, RAID1"), std::string::npos) << df;
  EXPECT_NE(df.find("Metadata, RAID1"), std::string::npos) << df;
  EXPECT_NE(text_of(r, c.scrub).find("no errors found"), std::string::npos) << text_of(r, c.scrub);
  const std::string swaps = text_of(r, c.swaps);
  EXPECT_NE(swaps.find("/dev/" + fresh + "4"), std::string::npos) << "the new disk's swap is not on\n" << swaps;
  EXPECT_NE(swaps.find("/dev/vda4"), std::string::npos) << swaps;
  std::printf("[ replace  ] after the replacement:\n%s%s", text_of(r, c.mdstat).c_str(), df.c_str());
}

void judge_final(const VmResult& r, const FinalChecks& c, const std::string& a, const std::string& b, bool after_crash) {
  judge_guest(r, c, "vdb");
  // Host side: both GPTs, md members of one array each (mdadm --examine), FAT32 and ext4 in them,
  // swap on each, btrfs check over the RAID1 pair with both devices.
  MosImageExpect expect;
  expect.allow_fat_dirty = after_crash;
  for (const auto& problem : dual_disk_problems(a, b, expect)) ADD_FAILURE() << problem;
}

// Reboot on the replaced node: mos_sysvol brings it up whole (exit 0), then every check.
void reboot_and_judge(const std::string& name, const std::string& a, const std::string& b, bool after_crash) {
  Steps s;
  const size_t sysvol = s.add(sysvol_step());
  const FinalChecks c = add_final_checks(s);
  VmResult r = run_vm(replace_spec(name, {{a, kDiskBytes}, {b, kDiskBytes}}, s.list));
  report_wall_time(name, r);
  expect_all_steps_ok(r, s.list.size());
  const json& rep = report_of(r, sysvol);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("degraded", true), false) << rep.dump(2);
  judge_final(r, c, a, b, after_crash);
}

// OLD's partitions are in neither array nor in MOSDATA.
void expect_not_member(const VmResult& r, const FinalChecks& c, const std::string& old_disk) {
  for (size_t step : {c.detail_efi, c.detail_boot, c.show})
    EXPECT_EQ(text_of(r, step).find(old_disk), std::string::npos) << old_disk << " is still a member\n" << text_of(r, step);
}

// `--failed` (a present but failing disk replaced while readable), folded into the crash case's
// last guest so that it costs no boot of its own: after that guest's checks a third, blank disk
// /dev/vdc takes the place of /dev/vdb, and the same checks run again with vdc.
void judge_then_replace_failed(const std::string& a, const std::string& old_disk, const std::string& fresh) {
  Steps s;
  const size_t sysvol = s.add(sysvol_step());
  const FinalChecks before = add_final_checks(s);
  add_daemon(s);
  const size_t replace = add_replace(s, "/dev/vdc", "/dev/vdb");
  const FinalChecks after = add_final_checks(s);
  add_daemon_stop(s);
  VmResult r = run_vm(replace_spec("replace_failed", {{a, kDiskBytes}, {old_disk, kDiskBytes}, {fresh, kDiskBytes}}, s.list));
  report_wall_time("replace: reboot after the crash case, checks, replace-disk --failed, checks", r);
  const json& rep = report_of(r, sysvol);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("degraded", true), false) << rep.dump(2);
  judge_guest(r, before, "vdb");
  expect_replaced(r, replace);
  expect_all_steps_ok(r, s.list.size());
  judge_guest(r, after, "vdc");
  expect_not_member(r, after, "/dev/vdb");
  EXPECT_EQ(text_of(r, after.swaps).find("/dev/vdb4"), std::string::npos) << "OLD's swap is still on\n" << text_of(r, after.swaps);
}

// The next boot with OLD still attached (the MOS layout, stale md superblocks, a btrfs superblock
// scratched by the replace): mos_sysvol brings up the node of vda and vdc whole, OLD in nothing;
// then the host judges vda and vdc.
void boot_with_old_attached(const std::string& a, const std::string& old_disk, const std::string& fresh) {
  Steps s;
  json boot = sysvol_step();
  boot["any_outcome"] = true;  // judged below by what it reports
  const size_t sysvol = s.add(boot);
  const FinalChecks c = add_final_checks(s);
  VmResult r = run_vm(replace_spec("replace_old_attached", {{a, kDiskBytes}, {old_disk, kDiskBytes}, {fresh, kDiskBytes}}, s.list));
  report_wall_time("replace: boot with the failed disk still attached", r);
  const json* booted = r.step(sysvol);
  ASSERT_NE(booted, nullptr) << r.explain();
  std::printf("[ replace  ] mos_sysvol with OLD attached (exit %s):\n%s\n", booted->value("exit_code", json()).dump().c_str(),
              booted->value("stderr", "").c_str());
  expect_all_steps_ok(r, s.list.size());
  const json& rep = report_of(r, sysvol);
  EXPECT_EQ(rep.value("ready", false), true) << rep.dump(2);
  EXPECT_EQ(rep.value("degraded", true), false) << rep.dump(2);
  judge_guest(r, c, "vdc");
  expect_not_member(r, c, "/dev/vdb");
  EXPECT_EQ(text_of(r, c.swaps).find("/dev/vdb4"), std::string::npos) << "OLD's swap is on again\n" << text_of(r, c.swaps);
  MosImageExpect expect;
  expect.allow_fat_dirty = true;  // the crash case's ESP
  for (const auto& problem : dual_disk_problems(a, fresh, expect)) ADD_FAILURE() << problem;
}

// A degraded boot with the blank disk next to it, then files written while degraded: a filler
// first makes the kernel allocate a single chunk for them, and is removed again.
struct Degraded {
  size_t sysvol, df_before, df_after;
};

Degraded add_degraded(Steps& s) {
  Degraded d{};
  d.sysvol = s.add(sysvol_step({}, json::object(), 2));
  d.df_before = s.add(btrfs_df_step());
  s.add(exec_step({kFallocate, "-l", kFillerSize, kFiller}));
  add_writes(s, kDegraded);
  s.add(exec_step({kRm, kFiller}));
  s.add(op_step("sync"));
  d.df_after = s.add(btrfs_df_step());
  return d;
}

// The boot was degraded and the writes left a single chunk (else the balance would prove nothing).
void expect_degraded(const VmResult& r, const Degraded& d) {
  EXPECT_EQ(report_of(r, d.sysvol).value("degraded", false), true) << report_of(r, d.sysvol).dump(2);
  std::printf("[ replace  ] degraded, before the writes:\n%s[ replace  ] after them:\n%s", text_of(r, d.df_before).c_str(),
              text_of(r, d.df_after).c_str());
  EXPECT_FALSE(single_chunks(text_of(r, d.df_after)).empty())
      << "no single chunk after the degraded writes: the balance would prove nothing\n" << text_of(r, d.df_after);
}

// Lines of `said` holding `word` that `before` does not hold.
std::vector<std::string> new_lines_with(const std::string& said, const std::string& before, const std::string& word) {
  std::vector<std::string> out;
  std::istringstream lines(said);
  std::string line;
  while (std::getline(lines, line))
    if (line.find(word) != std::string::npos && before.find(line) == std::string::npos) out.push_back(line);
  return out;
}

TEST(VmReplaceDisk, RemovedDiskReplacedThenAgainAfterACrashInTheMiddle) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  const std::string a = dir / "a.img", b = dir / "b.img", c = dir / "c.img";  // c: the blank disk

  // 1. The node: two disks provisioned, files written.
  Steps first;
  first.add(sysvol_step());
  add_writes(first, kBefore);
  VmResult provisioned = run_vm(replace_spec("replace_provision", {{a, kDiskBytes}, {b, kDiskBytes}}, first.list));
  report_wall_time("replace: provision two disks", provisioned);
  expect_all_steps_ok(provisioned, first.list.size());
  ASSERT_FALSE(HasFailure());

  // The crash case starts from the same node: a sparse copy of disk a, and a blank disk each.
  const std::string a2 = dir / "a2.img", c2 = dir / "c2.img", f2 = dir / "f2.img";  // f2: --failed's blank disk
  ASSERT_TRUE(test::run_tool({"cp", "--sparse=always", a, a2}).ok());

  // 2. Disk b removed, a blank disk in its place: a degraded boot, more files (in a single chunk),
  // then the replacement through the daemon and the CLI; a reboot and every check.
  std::string degraded_said;  // what mos_sysvol says at a degraded boot with no replacement begun
  {
    SCOPED_TRACE("replace-disk in one go");
    Steps s;
    const Degraded d = add_degraded(s);
    add_daemon(s);
    const size_t replace = add_replace(s);
    const size_t mdstat = s.add({{"op", "read_file"}, {"path", "/proc/mdstat"}, {"text", true}});
    add_daemon_stop(s);
    VmResult r = run_vm(replace_spec("replace_run", {{a, kDiskBytes}, {c, kDiskBytes}}, s.list));
    report_wall_time("replace: degraded boot, writes, replace-disk --wait", r);
    expect_degraded(r, d);
    expect_replaced(r, replace);
    expect_all_steps_ok(r, s.list.size());
    std::printf("[ replace  ] /proc/mdstat when replace-disk --wait returned:\n%s", text_of(r, mdstat).c_str());
    if (const json* boot = r.step(d.sysvol)) degraded_said = boot->value("stderr", "");
    ASSERT_FALSE(HasFailure());
    reboot_and_judge("replace_after", a, c, false);
  }

  // 3. The crash case: the same up to the command, but the daemon aborts at a crash point in the
  // middle and power is cut; the next boot reports the unfinished replacement and the same
  // command finishes it.
  {
    SCOPED_TRACE(std::string("crash at ") + kCrashPoint);
    Steps s;
    const Degraded d = add_degraded(s);
    add_daemon(s, {{"MOS_VOLMGR_CRASH_POINT", kCrashPoint}, {"MOS_VOLMGR_CRASH_ABORT", "1"}});
    const size_t replace = add_replace(s);
    const size_t died = s.add({{"op", "wait_exit"}, {"name", "d"}, {"any_outcome", true}, {"timeout_ms", 60000}});
    s.add({{"op", "crash"}});
    VmResult crashed = run_vm(replace_spec("replace_crash", {{a2, kDiskBytes}, {c2, kDiskBytes}}, s.list));
    report_wall_time(std::string("replace: degraded boot, writes, crash at ") + kCrashPoint, crashed);
    expect_degraded(crashed, d);
    expect_steps_ok_until_crash(crashed, s.list.size() - 1);
    ASSERT_NE(crashed.step(died), nullptr) << crashed.explain();
    const json* cli = crashed.step(replace);
    ASSERT_NE(cli, nullptr);
    EXPECT_EQ(crashed.step(died)->value("signal", json(nullptr)), 6) << "the daemon did not abort at " << kCrashPoint << ": "
                                                                       << crashed.step(died)->dump(2) << "\n" << cli->dump(2);
    ASSERT_FALSE(HasFailure());

    Steps again;
    json boot = sysvol_step();
    boot["any_outcome"] = true;  // whole or degraded: judged below by what it reports
    const size_t sysvol = again.add(boot);
    add_daemon(again);
    const size_t replace2 = add_replace(again);
    add_daemon_stop(again);
    VmResult resumed = run_vm(replace_spec("replace_resume", {{a2, kDiskBytes}, {c2, kDiskBytes}}, again.list));
    report_wall_time("replace: boot after the crash, replace-disk again", resumed);
    const json* booted = resumed.step(sysvol);
    ASSERT_NE(booted, nullptr) << resumed.explain();
    std::printf("[ replace  ] mos_sysvol after the crash (exit %s):\n%s\n", booted->value("exit_code", json()).dump().c_str(),
                booted->value("stderr", "").c_str());
    const std::vector<std::string> news = new_lines_with(booted->value("stderr", ""), degraded_said, "replac");
    EXPECT_FALSE(news.empty()) << "mos_sysvol said nothing about the unfinished replacement beyond a degraded boot's words\n"
                               << booted->value("stderr", "");
    expect_replaced(resumed, replace2);
    expect_all_steps_ok(resumed, again.list.size());
    ASSERT_FALSE(HasFailure());
    judge_then_replace_failed(a2, c2, f2);
    ASSERT_FALSE(HasFailure());
    boot_with_old_attached(a2, c2, f2);
  }
}

}  // namespace
}  // namespace mos::vmtest
