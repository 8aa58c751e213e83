#include "tests/vm/replay_record.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "tests/vm/sysvol_vm.hpp"

namespace mos::vmtest {
namespace {

std::string vd(size_t i) { return std::string("/dev/vd") + char('a' + i); }

json record_steps(size_t n) {
  json steps = json::array();
  for (size_t i = 0; i < n; ++i)
    steps.push_back({{"op", "dm_create"},
                     {"name", "firstboot" + std::to_string(i)},
                     {"targets", {{{"type", "log-writes"}, {"params", vd(i) + " " + vd(n + i)}, {"length_of", vd(i)}}}}});
  for (size_t i = 0; i < n; ++i)
    steps.push_back({{"op", "loop_attach"}, {"backing", "/dev/mapper/firstboot" + std::to_string(i)}, {"offset", kReplayHead},
                     {"size_limit", kReplayDiskBytes}, {"direct_io", true}});
  // The policy judges a loop device with what it is built on (dm, then the disk and its log):
  // all allowed; those are held by dm, so only the loop devices are blank disks.
  steps.push_back({{"op", "exec"},
                   {"argv", {"/bin/mos_sysvol", "--json", "--allow-devices", "/dev/loop*,/dev/dm-*,/dev/vd*"}},
                   {"timeout_ms", 300000}});
  steps.push_back(mounts_step());
  steps.push_back({{"op", "release"}});
  for (size_t i = 0; i < n; ++i) steps.push_back({{"op", "loop_detach"}, {"device", "/dev/loop" + std::to_string(i)}});
  for (size_t i = 0; i < n; ++i) steps.push_back({{"op", "dm_remove"}, {"name", "firstboot" + std::to_string(i)}});
  return steps;
}

}  // namespace

std::vector<RecordedDisk> record_first_boot(const test::TempDir& dir, size_t n) {
  std::vector<VmDisk> disks;
  for (size_t i = 0; i < n; ++i) {
    const std::string logged = dir / ("logged" + std::to_string(i) + ".img");
    int fd = ::open(logged.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const std::string head(kReplayHead, '\xa5');
    EXPECT_EQ(::pwrite(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    ::close(fd);
    disks.push_back({logged, kReplayHead + kReplayDiskBytes, 512});
  }
  for (size_t i = 0; i < n; ++i) disks.push_back({dir / ("log" + std::to_string(i) + ".img"), 16ull << 30, 512});
  json steps = record_steps(n);
  VmSpec spec = sysvol_spec("replay_record" + std::to_string(n), disks, steps);
  spec.scenario["modules"] = {"dm-mod", "dm-log-writes", "loop"};
  spec.timeout_s = 900;
  VmResult r = run_vm(spec);
  report_wall_time("first boot on " + std::to_string(n) + " disk(s) recorded by dm-log-writes", r);
  expect_all_steps_ok(r, steps.size());
  for (size_t i = 0; i < n; ++i) {
    const json* loop = r.step(n + i);
    EXPECT_TRUE(loop && loop->value("device", "") == "/dev/loop" + std::to_string(i)) << r.explain();
  }
  if (::testing::Test::HasFailure()) return {};
  const json& report = report_of(r, 2 * n);
  EXPECT_EQ(report.value("mode", ""), "fresh") << report.dump(2);
  EXPECT_EQ(report.value("plan", json::array()).size(), n) << report.dump(2);
  std::vector<RecordedDisk> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].log = read_write_log(disks[n + i].path);
    const std::string complete = dir / ("complete" + std::to_string(i) + ".img");
    replay_prefix(out[i].log, out[i].log.entries.size(), {{complete, kReplayHead, kReplayDiskBytes}});
    EXPECT_EQ(sparse_region_digest(complete, 0, kReplayDiskBytes),
              sparse_region_digest(disks[i].path, kReplayHead, kReplayDiskBytes))
        << "replaying log " << i << " whole does not give the disk the guest left";
    out[i].things = formatted_things(complete, n == 2);
    find_commits(out[i].log, kReplayHead, out[i].things);
    std::filesystem::remove(complete);
  }
  return out;
}

}  // namespace mos::vmtest
