// The daemon's bounded shutdown (issue 19 item 2) in a guest, where device-mapper exists: the real
// mos_volmgrd (with its shared objects) serves a dm-linear device over a virtio disk; the device
// is suspended so that reads of it wait in the kernel; the daemon's own inventory monitor, a call
// or a job reads it; SIGTERM. The daemon must name what is stuck in its log within
// --shutdown-timeout and exit with status 3 (README, "SIGTERM ends the daemon within
// --shutdown-timeout"); the device is then resumed so that the held thread returns, the process
// is reaped and the guest shuts down cleanly.
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"
#include "tests/vm/scenario.hpp"

namespace mos::vmtest {
namespace {

constexpr int kShutdownTimeout = 2;  // --shutdown-timeout of the guest's daemons, seconds
const char* kDm = "stuck";

// The steps of one daemon's life: started on its own socket; the device suspended; a client call
// `client` that reads it (none: only the daemon's own inventory monitor, which re-probes every
// device every 2 s, meets it) given 4 s to reach a worker; SIGTERM once a daemon thread waits on
// the device; the log line `logged`; the device resumed; the daemon's exit (and the client's).
struct DaemonCase {
  json steps = json::array();
  size_t signal = 0, logged = 0, exited = 0;  // step indices within `steps`
};
// started_when: the client's work is started first and the device suspended once this text is in
// the log (a job must be running, not waiting to start, when its reads are held).
DaemonCase daemon_case(const std::string& name, const std::vector<std::string>& client, const std::string& logged,
                       const std::string& started_when = {}) {
  const std::string dir = "/run/" + name, sock = dir + "/d.sock", log = "/tmp/spawn-" + name + ".stderr";
  DaemonCase c;
  auto add = [&](json step) {
    c.steps.push_back(std::move(step));
    return c.steps.size() - 1;
  };
  add({{"op", "mkdir"}, {"path", dir}, {"mode", 0700}});
  add({{"op", "spawn"},
       {"name", name},
       {"argv", {"/bin/mos_volmgrd", "--socket", sock, "--run-dir", dir + "/run", "--state-dir", "/tmp/" + name,
                 "--allow-devices", "/dev/dm-*", "--shutdown-timeout", std::to_string(kShutdownTimeout)}}});
  add({{"op", "wait_text"}, {"path", log}, {"text", "listening on"}});
  if (started_when.empty()) add({{"op", "dm_suspend"}, {"name", kDm}});
  if (!client.empty()) {
    std::vector<std::string> cli = {"/bin/mos-volmgr", "--socket", sock};
    cli.insert(cli.end(), client.begin(), client.end());
    add({{"op", "spawn"}, {"name", name + "_client"}, {"argv", cli}});
    if (!started_when.empty()) {
      add({{"op", "wait_text"}, {"path", log}, {"text", started_when}});
      add({{"op", "sleep"}, {"ms", 500}});
      add({{"op", "dm_suspend"}, {"name", kDm}});
    }
    add({{"op", "sleep"}, {"ms", 4000}});
  }
  c.signal = add({{"op", "signal"}, {"name", name}, {"signal", 15}, {"wait_stuck_ms", 60000}});
  c.logged = add({{"op", "wait_text"}, {"path", log}, {"text", logged}, {"timeout_ms", 30000}});
  add({{"op", "dm_resume"}, {"name", kDm}});
  c.exited = add({{"op", "wait_exit"}, {"name", name}, {"expect_exit", 3}, {"timeout_ms", 30000}});
  if (!client.empty()) add({{"op", "wait_exit"}, {"name", name + "_client"}, {"any_outcome", true}, {"timeout_ms", 30000}});
  return c;
}

TEST(VmDaemonShutdown, SigtermWithWorkStuckOnASuspendedDmDeviceExitsWithinTheBoundWithStatus3) {
  MOS_REQUIRE_VM();
  test::TempDir dir;
  VmSpec spec;
  spec.name = "daemon_shutdown";
  spec.disks = {{dir / "a.img", 8ull << 30}};  // sparse; big enough that the checksum still runs when held
  const std::string daemon = std::string(MOS_BIN_DIR) + "/mos_volmgrd";  // dynamic: its libraries go along
  spec.binaries["/bin/mos_volmgrd"] = daemon;
  for (const auto& lib : ldd_libraries(test::run_tool({"ldd", daemon}).out)) spec.binaries[lib] = lib;
  spec.binaries["/bin/mos-volmgr"] = std::string(MOS_BIN_DIR) + "/mos-volmgr";

  json steps = json::array(
      {{{"op", "dm_create"},
        {"name", kDm},
        {"targets", {{{"type", "linear"}, {"params", "/dev/vda 0"}, {"length_of", "/dev/vda"}}}}}});
  // Only the inventory monitor stuck (before: the daemon logged "shut down" and then hung for
  // ever joining the monitor's thread); a request worker stuck reading the partition table; a job
  // worker in a checksum (the CLI starts it in the background and waits for it; the device is
  // suspended once the job runs: suspended first, the starting call itself is what is held). The
  // checksum reads through io_uring: its held reads wait in the kernel's io-wq threads while the
  // job itself ends on the shutdown's cancel, so what the log names then is whatever is still
  // running (seen: the inventory monitor), and the bound and status 3 are what is checked.
  const std::vector<std::pair<std::string, DaemonCase>> cases = {
      {"stuck inventory monitor",
       daemon_case("d0", {}, "the inventory monitor (a device probe) still running after --shutdown-timeout 2 s")},
      {"stuck call", daemon_case("d1", {"partition-table", "--disk", "/dev/dm-0"},
                                 "abandoned: storage.read_partition_table (uid 0")},
      {"stuck job", daemon_case("d2", {"checksum", "/dev/dm-0", "--algo", "xxh64"},
                                "still running after --shutdown-timeout 2 s, abandoned", "method=storage.checksum")}};
  std::vector<size_t> first;
  for (const auto& [what, c] : cases) {
    first.push_back(steps.size());
    for (const auto& s : c.steps) steps.push_back(s);
  }
  steps.push_back({{"op", "dm_remove"}, {"name", kDm}});
  spec.scenario = {{"modules", {"dm-mod"}}, {"steps", steps}};
  spec.timeout_s = 240;  // a case that fails leaves the device suspended and the guest's shutdown held

  VmResult r = run_vm(spec);
  report_wall_time("daemon shutdown: stuck monitor, call, job", r);
  expect_all_steps_ok(r, steps.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [what, c] = cases[i];
    const json* sig = r.step(first[i] + c.signal);
    const json* logged = r.step(first[i] + c.logged);
    const json* exited = r.step(first[i] + c.exited);
    ASSERT_TRUE(sig && logged && exited) << what << "\n" << r.explain();
    EXPECT_GE(sig->value("threads_in_disk_sleep", 0), 1)
        << what << ": no daemon thread waited on the suspended device: the case proves nothing\n" << sig->dump();
    const double ms = logged->value("ms", -1.0);
    std::printf("[ VM case  ] %s: named in the log %.0f ms after SIGTERM, exit status %s\n", what.c_str(), ms,
                exited->value("exit_code", json(nullptr)).dump().c_str());
    EXPECT_GE(ms, kShutdownTimeout * 1000 - 500) << what << ": the stuck work was waited for first";
    EXPECT_LT(ms, (kShutdownTimeout + 3) * 1000) << what << ": the bound is --shutdown-timeout " << kShutdownTimeout << " s";
    EXPECT_EQ(exited->value("exit_code", json(nullptr)), 3) << exited->dump();
  }
}

}  // namespace
}  // namespace mos::vmtest
