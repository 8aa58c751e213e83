// mos-volmgr-bench: scenarios timed side by side with the tools people would otherwise use.
// A scenario names the device it needs (a loop device on a backing file in /var/tmp, always
// detached), our contenders and the peers; the runner interleaves repetitions, takes medians and
// prints ours/peer throughput ratios as a table or JSON. To add a group of scenarios, write
// bench/scenario_<group>.cpp with a `void add_<group>_scenarios(std::vector<Scenario>&, const
// Config&)` and list it in bench/scenarios.cpp.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/loop.hpp"

namespace mos::bench {

struct Config {
  uint64_t size = 1ull << 30;  // bytes per scenario device
  unsigned reps = 5;
  unsigned warmup = 1;  // untimed rounds first (host caches, extent state, first-touch effects)
  std::vector<std::string> only;  // scenario names; empty = all
  bool json = false;
  std::string workdir = "/var/tmp";
  bool vm = false;  // the qemu scenarios (vm-*) instead of the host ones
  // --short, CI's check that every scenario still runs (figures mean nothing): one repetition,
  // no warm-up, 128 MiB devices, `rpc` included with short phases; a contender that cannot run
  // fails the run, and what the machine cannot do at all exits kCannotRunHere.
  bool short_run = false;
};

// Exit code of a --short run on a machine without what it needs (root, qemu): ctest's
// SKIP_RETURN_CODE, so the test shows as skipped, and a strict run (scripts/test) fails it.
inline constexpr int kCannotRunHere = 77;

// The device a scenario runs on.
struct TargetSpec {
  uint64_t size = 0;
  uint32_t sector_size = 512;
  bool direct_io = true;     // loop reads/writes the backing file with O_DIRECT: no double caching
  bool preallocate = true;   // fallocate the backing file (a sparse one makes writes meaningless)
  bool fill = false;         // write non-trivial bytes once, so reads hit real, written extents
};

class Target {
 public:
  Target(const TargetSpec& spec, const std::string& workdir);
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  const std::string& dev() const { return loop_.path(); }
  const std::string& file() const { return file_; }
  uint64_t size() const { return spec_.size; }
  // Rewrites the fill pattern over the whole device (written extents again after an offload
  // left unwritten ones behind).
  void refill() const;
  // Cold cache for the next run: BLKFLSBUF on the device, POSIX_FADV_DONTNEED on the backing file.
  void drop_caches() const;

 private:
  TargetSpec spec_;
  std::string file_;
  mos::test::LoopDevice loop_;
};

struct Contender {
  std::string name;
  std::function<void(Target&)> prepare;  // untimed, before every repetition (may be empty)
  // Timed. Returns the seconds the tool reported itself (fio), or nullopt to use wall time.
  std::function<std::optional<double>(Target&)> run;
  std::function<void(Target&)> cleanup;  // untimed, after every repetition: restore the target
  std::string unavailable;  // non-empty: skipped, with this reason (e.g. tool not installed)
};

struct Scenario {
  std::string name;
  std::string description;
  TargetSpec target;
  uint64_t bytes = 0;  // bytes moved per run, for MiB/s (0: none, e.g. format scenarios)
  std::vector<Contender> ours;
  std::vector<Contender> peers;
  // Untimed, once after the last repetition (or a failed one): what the contenders' prepare
  // steps shared across repetitions (a bed made once) is undone. May be empty.
  std::function<void(Target&)> teardown;
};

// One contender's timed repetitions (seconds), as printed and reported.
struct Measured {
  std::string name;
  bool ours = false;
  std::vector<double> seconds;
  std::string unavailable;  // non-empty: not run, with this reason
  double median() const;
  double min() const;
  double max() const;
};
// The table (ours/peer ratios of medians) and the JSON object of one scenario's results;
// only the scenario's name, description and bytes are used.
void print_table(const Scenario& s, const std::vector<Measured>& m, const Config& cfg);
nlohmann::json results_json(const Scenario& s, const std::vector<Measured>& m);
// In a --short run, a contender that could not run (tool missing...) fails the scenario: names
// each on stderr and returns true; false otherwise.
bool unavailable_fails(const std::string& scenario, const std::vector<Measured>& m, const Config& cfg);

// Set by SIGINT/SIGTERM; ours get it as their cancel flag, the runner stops between runs.
std::atomic<bool>& interrupted();

// Peer tools (bench only: a measurement tool, not product code).
bool have_tool(const std::string& name);
// Full path of a tool on PATH (plus /usr/sbin, /sbin), or "" when missing.
std::string tool_path(const std::string& name);
// Runs argv to completion with stdout/stderr to /dev/null; throws if it fails.
void run_peer(const std::vector<std::string>& argv);
// Same, returning its stdout (first MiB).
std::string peer_output(const std::vector<std::string>& argv);
// A peer contender running `tool args(target)...`, marked unavailable when the tool is missing.
Contender peer(std::string name, std::string tool,
               std::function<std::vector<std::string>(const Target&)> args,
               std::function<void(Target&)> prepare = {});
// Once per process: the bench's mounts (and its children's) live in a private mount namespace and
// die with it (bench/scenario_firstboot.cpp).
void enter_private_mount_namespace();
// fio with `job` (its arguments, JSON output added; the report goes to `scratch`.fio.json and
// is removed): the bandwidth and bytes of `direction` ("read" or "write") fio reports.
struct FioResult {
  double bw_bytes = 0;  // bytes per second
  double io_bytes = 0;
};
FioResult run_fio(std::vector<std::string> job, const std::string& scratch, const std::string& direction);
// fio job on the target, timed by fio's own bytes/bandwidth figure.
Contender fio_peer(std::string name, std::string rw, unsigned iodepth, std::function<void(Target&)> prepare = {});

// Registry (bench/scenarios.cpp) and runner (bench/runner.cpp). Returns the process exit code.
std::vector<Scenario> all_scenarios(const Config& cfg);
int run_bench(const Config& cfg);

// The shell tools' version of mos_sysvol's single-disk first boot, one argv per command (tool
// names bare; "mkdir -p" included): sgdisk with the layout mos_sysvol plans for disk_bytes, partx -a
// when asked (loop devices without partition scanning), mkfs.*, subvolumes, mounts below root
// (the ESP too when esp), swapon. bench/scenario_firstboot.cpp.
std::vector<std::vector<std::string>> tools_firstboot_commands(const std::string& disk, const std::string& part_prefix,
                                                               uint64_t disk_bytes, const std::string& root, bool esp,
                                                               bool partx);
// The same for mos_sysvol's dual-disk first boot on disks whose partitions are disk_a1.. and
// disk_b1.. (virtio naming): both tables, mdadm RAID1 0.90 (/dev/md126, ESP) and 1.2 (/dev/md127,
// boot) without --assume-clean (mos_sysvol starts both with a resync too), a swap area on each
// disk, btrfs -d raid1 -m raid1 over the data pair, the mounts (ESP included), swapon both.
std::vector<std::vector<std::string>> tools_dual_firstboot_commands(const std::string& disk_a, const std::string& disk_b,
                                                                    uint64_t disk_bytes, const std::string& root);

// Scenario `rpc` (bench/scenario_rpc.cpp): the daemon vs an epoll echo server under load;
// run only when named (--only rpc). Returns 0 when its goals are met, 3 when not.
int run_rpc_bench(const Config& cfg);

// VM scenarios (bench/vm_bench.cpp): names start with "vm-"; run in a qemu guest.
bool is_vm_scenario(const std::string& name);
void list_vm_scenarios();
int run_vm_bench(const Config& cfg);

// Scenario groups, one file each.
void add_zero_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_checksum_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_format_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_gpt_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_firstboot_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_cli_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_volume_scenarios(std::vector<Scenario>& out, const Config& cfg);
void add_volume_io_scenarios(std::vector<Scenario>& out, const Config& cfg);

}  // namespace mos::bench
