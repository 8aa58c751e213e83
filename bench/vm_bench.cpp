// VM scenarios (vm-*): what the host kernel cannot do, timed inside a qemu guest booted through
// the tests/vm harness. Times are the guest's own: every step line carries "ms", its wall time
// inside the guest (rpc steps run our engine in-process in the guest init; exec steps fork+exec
// the tool and wait for it). mdadm and its shared libraries go into the bench's initramfs only.
//   vm-md-create / vm-md-assemble: one boot, repetitions interleaved: ours (storage.create_raid,
//     storage.assemble_raid) vs mdadm --create / --assemble on two 1 GiB virtio disks, RAID1,
//     metadata 1.2, assume-clean; each side stops its array, and between repetitions (untimed)
//     the superblocks are zeroed and dd clears the metadata area (see clear_md_members).
//   vm-sysvol-firstboot: mos_sysvol's first boot vs the tools' (bench/scenario_firstboot.cpp's command
//     list) on a second disk in the same boot; the tools and their libraries in the initramfs.
//   vm-sysvol-dual: the same for the dual-disk first boot (md RAID1 ESP and boot, btrfs raid1).
//   vm-replace-disk: replace-disk on a degraded two-disk node vs the manual procedure
//     (bench/vm_replace.cpp).
//   vm-sysvol-boot: mos_sysvol's first boot on a blank 16 GiB disk, then its second boot on the
//     same disk with the modules preloaded by the init, then again loading them itself (a fresh
//     guest boot each), as mos_sysvol's exec step time; no peer (goal: second boot < 100 ms).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "bench/bench.hpp"
#include "bench/vm_steps.hpp"
#include "rpc/registry.hpp"

namespace mos::bench {

namespace {

// ---- md: create and assemble, ours vs mdadm, one boot ----

enum MdRow : size_t { kOursCreate, kMdadmCreate, kOursAssemble, kMdadmAssemble };

std::string md_ours_unavailable() {
  if (!rpc::make_registry().find("storage.create_raid"))
    return "storage.create_raid is not in this build (md engine not merged yet)";
  return "";
}

std::string mdadm_unavailable() {
  return have_tool("mdadm") ? "" : "mdadm not installed on the host (apt-get install mdadm)";
}

// Hands the members to the next contender blank, as a user would after a test array:
// `mdadm --zero-superblock` leaves the bad-block log behind (non-zero bytes at 12 KiB), which our
// safety gate rightly refuses as unrecognised data, so dd also zeroes the first 4 MiB, where 1.2
// keeps its superblock (at 4 KiB) and that log (the gate reads the first and last MiB; 1.2 keeps
// nothing at the end).
void clear_md_members(Script& sc, const std::vector<std::string>& members) {
  std::vector<std::string> zero_superblock = {tool_path("mdadm"), "--zero-superblock"};
  zero_superblock.insert(zero_superblock.end(), members.begin(), members.end());
  sc.add(exec_step(zero_superblock));
  for (const auto& m : members)
    sc.add(exec_step({tool_path("dd"), "if=/dev/zero", "of=" + m, "bs=1M", "count=4", "oflag=direct", "status=none"}));
}

void run_md(const Config& cfg, std::vector<Measured>& create, std::vector<Measured>& assemble) {
  Images images(vm_dir(cfg, "md"));
  VmSpec spec;
  spec.name = "bench_md";
  spec.disks = {{images.dir + "/a.img", 1ull << 30}, {images.dir + "/b.img", 1ull << 30}};
  ship_tools(spec, {"mdadm", "dd"});
  const std::string mdadm = tool_path("mdadm");
  spec.scenario = {{"modules", {"md-mod", "raid1"}}, {"allow_devices", "/dev/vda,/dev/vdb,/dev/md*"}};
  spec.timeout_s = 120 + 30 * static_cast<int>(cfg.warmup + cfg.reps);

  const bool ours = create[0].unavailable.empty();
  const std::vector<std::string> members = {"/dev/vda", "/dev/vdb"};
  Script sc;
  for (unsigned rep = 0; rep < cfg.warmup + cfg.reps; ++rep) {
    if (ours) {
      sc.add_timed(rpc_step("storage.create_raid", {{"name", "bench"}, {"metadata", "1.2"}, {"members", members},
                                                    {"assume_clean", true}}),
                   kOursCreate, rep);
      sc.add(rpc_step("storage.stop_raid", {{"array", "bench"}}));
      sc.add_timed(rpc_step("storage.assemble_raid", {{"devices", members}}), kOursAssemble, rep);
      sc.add(rpc_step("storage.stop_raid", {{"array", "bench"}}));
      clear_md_members(sc, members);
    }
    sc.add_timed(exec_step({mdadm, "--create", "/dev/md0", "--run", "--assume-clean", "--level=1",
                            "--raid-devices=2", "--metadata=1.2", "/dev/vda", "/dev/vdb"}),
                 kMdadmCreate, rep);
    sc.add(exec_step({mdadm, "--stop", "/dev/md0"}));
    sc.add_timed(exec_step({mdadm, "--assemble", "/dev/md0", "/dev/vda", "/dev/vdb"}), kMdadmAssemble, rep);
    sc.add(exec_step({mdadm, "--stop", "/dev/md0"}));
    clear_md_members(sc, members);
  }
  std::vector<Measured> rows = {create[0], create[1], assemble[0], assemble[1]};
  run_script(spec, sc, rows, cfg.warmup, [](size_t who, const json& line) {
    // The stop steps after each prove an array was running; an assemble that found nothing is
    // also an ok rpc step, so its result must name the array it started.
    if (who == kOursAssemble) {
      const json& arrays = line.at("result").at("arrays");
      if (arrays.size() != 1 || arrays[0].value("outcome", "") != "started")
        throw std::runtime_error("storage.assemble_raid did not start the array: " + line.dump());
    }
  });
  create = {rows[kOursCreate], rows[kMdadmCreate]};
  assemble = {rows[kOursAssemble], rows[kMdadmAssemble]};
}

// ---- mos_sysvol: first and second boot ----

// What mos_sysvol mounts needs (loaded by the init unless a scenario leaves it to mos_sysvol).
const std::vector<std::string> kFsModules = {"vfat", "nls_cp437", "nls_ascii", "ext4", "btrfs"};

// One guest boot of a repetition: which row it fills, whether the init loads the modules first,
// and the mode mos_sysvol must report.
struct SysvolBoot {
  size_t row;
  bool preload;
  const char* mode;
};

void run_sysvol(const Config& cfg, std::vector<Measured>& rows) {
  const std::string sysvol = self_dir() + "/mos_sysvol";
  if (::access(sysvol.c_str(), X_OK) != 0) throw std::runtime_error(sysvol + " not built");
  const std::vector<std::string>& modules = kFsModules;
  // Preloaded by the init (mos_sysvol finds them present), or left to mos_sysvol: loading btrfs
  // under TCG takes seconds of the kernel's time (raid6/xor benchmark their algorithms).
  const SysvolBoot boots[] = {{0, true, "fresh"}, {1, true, "existing"}, {2, false, "existing"}};
  for (unsigned rep = 0; rep < cfg.reps; ++rep) {  // every boot is cold: no warm-up round
    Images images(vm_dir(cfg, "sysvol"));
    for (const auto& b : boots) {
      VmSpec spec;
      spec.name = "bench_sysvol";
      spec.disks = {{images.dir + "/a.img", 16ull << 30}};
      spec.binaries["/bin/mos_sysvol"] = sysvol;
      spec.scenario = {{"modules", b.preload ? json(modules) : json::array()}};
      spec.extra_modules = modules;
      spec.timeout_s = 300;
      Script sc;
      sc.add_timed(exec_step({"/bin/mos_sysvol", "--json", "--log", "console", "--allow-devices", "/dev/vda,/dev/vda*"},
                             120000),
                   b.row, rep);
      const std::string want = b.mode;
      run_script(spec, sc, rows, 0, [want](size_t, const json& line) {
        const json& report = line.value("stdout_json", json());
        if (!report.is_object() || report.value("mode", "") != want || !report.value("ready", false))
          throw std::runtime_error("mos_sysvol did not report a ready " + want + " boot: " + line.dump());
      });
    }
  }
}

// mos_sysvol's first boot vs the same layout by the tools, in the same boot, one boot per
// repetition, modules preloaded: ours on the first `disks` virtio disks, the tools on as many
// more (mounted below /tools). The tools' time is the sum of their exec steps ("mkdir -p" is the
// init's mkdir op, untimed: microseconds). With md in the layout, the side going first alternates
// and the md resyncs it started must end before the other side runs (storage.list_raids, untimed).
struct VsTools {
  const char* name;
  size_t disks;
  std::vector<std::vector<std::string>> commands;
  std::vector<std::string> modules;
  bool md;
};

void run_vs_tools(const Config& cfg, std::vector<Measured>& rows, const VsTools& v) {
  const std::string sysvol = self_dir() + "/mos_sysvol";
  if (::access(sysvol.c_str(), X_OK) != 0) throw std::runtime_error(sysvol + " not built");
  std::vector<std::string> tools;
  for (const auto& c : v.commands)
    if (c[0] != "mkdir" && std::find(tools.begin(), tools.end(), c[0]) == tools.end()) tools.push_back(c[0]);
  std::vector<std::string> ours_argv = {"/bin/mos_sysvol", "--json", "--log", "console", "--allow-devices", ""};
  for (size_t i = 0; i < v.disks; ++i) {
    std::string d = std::string("/dev/vd") + char('a' + i);
    ours_argv.back() += (i ? "," : "") + d + "," + d + "*";
  }
  const json resynced = {{"op", "wait"}, {"method", "storage.list_raids"}, {"params", json::object()},
                         {"until", {{"/0/sync_action", "idle"}, {"/1/sync_action", "idle"}}},
                         {"timeout_ms", 600000}, {"interval_ms", 500}};
  for (unsigned rep = 0; rep < cfg.reps; ++rep) {
    Images images(vm_dir(cfg, v.name));
    VmSpec spec;
    spec.name = std::string("bench_") + v.name;
    for (size_t i = 0; i < 2 * v.disks; ++i) spec.disks.push_back({images.dir + "/" + char('a' + i) + ".img", 16ull << 30});
    spec.binaries["/bin/mos_sysvol"] = sysvol;
    ship_tools(spec, tools);
    if (::access("/etc/mke2fs.conf", R_OK) == 0) spec.binaries["/etc/mke2fs.conf"] = "/etc/mke2fs.conf";
    spec.scenario = {{"modules", v.modules}};
    spec.timeout_s = v.md ? 1200 : 300;
    Script sc;
    auto ours = [&] { sc.add_timed(exec_step(ours_argv, 240000), 0, rep); };
    auto theirs = [&] {
      for (const auto& c : v.commands) {
        if (c[0] == "mkdir") {
          sc.add({{"op", "mkdir"}, {"path", c.back()}});
          continue;
        }
        std::vector<std::string> argv = c;
        argv[0] = tool_path(c[0]);
        sc.add_timed(exec_step(argv, 120000), 1, rep);
      }
    };
    if (!v.md) ours(), theirs();
    else if (rep % 2 == 0) ours(), sc.add(resynced), theirs();
    else theirs(), sc.add(resynced), ours();
    run_script(spec, sc, rows, 0, [](size_t who, const json& line) {
      if (who != 0) return;  // the tools: exit 0 (the exec step's own check)
      const json& report = line.value("stdout_json", json());
      if (!report.is_object() || report.value("mode", "") != "fresh" || !report.value("ready", false))
        throw std::runtime_error("mos_sysvol did not report a ready first boot: " + line.dump());
    });
  }
}

void run_sysvol_vs_tools(const Config& cfg, std::vector<Measured>& rows) {
  run_vs_tools(cfg, rows,
               {"sysvol-tools", 1, tools_firstboot_commands("/dev/vdb", "/dev/vdb", 16ull << 30, "/tools", true, false),
                kFsModules, false});
}

void run_dual_vs_tools(const Config& cfg, std::vector<Measured>& rows) {
  std::vector<std::string> modules = kFsModules;
  modules.insert(modules.end(), {"md-mod", "raid1"});
  run_vs_tools(cfg, rows,
               {"sysvol-dual", 2, tools_dual_firstboot_commands("/dev/vdc", "/dev/vdd", 16ull << 30, "/tools"), modules,
                true});
}

struct VmScenario {
  std::string name, description;
};

const std::vector<VmScenario>& vm_scenarios() {
  static const std::vector<VmScenario> all = {
      {"vm-md-create", "md RAID1 create+start, 2 x 1 GiB virtio disks, metadata 1.2, assume-clean (qemu guest, step ms)"},
      {"vm-md-assemble", "md RAID1 assemble of the array just created and stopped (qemu guest, step ms)"},
      {"vm-sysvol-boot", "mos_sysvol first boot on a blank 16 GiB virtio disk, then second boots, a guest boot each (exec ms; modules preloaded unless noted; goal: second < 100 ms)"},
      {"vm-sysvol-firstboot", "mos_sysvol first boot vs the same layout by the tools (sgdisk, mkfs.*, btrfs, mount, "
                              "swapon), 16 GiB virtio disks, ESP mounted, same boot (exec ms)"},
      {"vm-sysvol-dual", "mos_sysvol dual-disk first boot vs the tools (sgdisk x2, mdadm 0.90 + 1.2, mkfs.*, btrfs "
                         "raid1, mounts, swapon x2), 4 x 16 GiB virtio disks, same boot (exec ms)"},
      {"vm-replace-disk", "replace-disk --wait on a degraded two-disk node (8 GiB virtio disks, a blank one attached) "
                          "vs the manual procedure (sgdisk -R/-G, mdadm --add x2 + rebuild, btrfs replace, balance "
                          "convert soft, mkswap, swapon), both in one guest on two nodes alike (exec ms)"},
  };
  return all;
}

bool wanted(const Config& cfg, const std::string& name) {
  return cfg.only.empty() || std::find(cfg.only.begin(), cfg.only.end(), name) != cfg.only.end();
}

void report(const Config& cfg, const std::string& name, const std::vector<Measured>& rows, json& out) {
  Scenario s;
  s.name = name;
  for (const auto& v : vm_scenarios())
    if (v.name == name) s.description = v.description;
  if (cfg.json) out.push_back(results_json(s, rows));
  else print_table(s, rows, cfg);
}

void report_error(const Config& cfg, const std::string& name, const std::string& what, json& out) {
  std::cerr << "mos-volmgr-bench: " << name << ": " << what << "\n";
  if (cfg.json) out.push_back({{"name", name}, {"error", what}});
}

}  // namespace

bool is_vm_scenario(const std::string& name) { return name.rfind("vm-", 0) == 0; }

void list_vm_scenarios() {
  for (const auto& s : vm_scenarios()) std::cout << s.name << "\t" << s.description << "\n";
}

int run_vm_bench(const Config& cfg) {
  const int cannot_run = cfg.short_run ? kCannotRunHere : 1;
  if (geteuid() != 0) {
    std::cerr << "mos-volmgr-bench: needs root (qemu disk images, like the VM tests)\n";
    return cannot_run;
  }
  std::string why = vmtest::vm_unavailable_reason();
  if (!why.empty()) {
    std::cerr << "mos-volmgr-bench: VM scenarios unavailable: " << why << "\n";
    return cannot_run;
  }
  json out = json::array();
  int rc = 0;
  if (!cfg.json) std::printf("mos-volmgr-bench: VM scenarios (qemu TCG guest; times are the guest's step \"ms\")\n");

  if (wanted(cfg, "vm-md-create") || wanted(cfg, "vm-md-assemble")) {
    std::string ours_why = md_ours_unavailable(), mdadm_why = mdadm_unavailable();
    std::vector<Measured> create = {{"ours (create_raid)", true, {}, ours_why},
                                    {"mdadm --create", false, {}, mdadm_why}};
    std::vector<Measured> assemble = {{"ours (assemble_raid)", true, {}, ours_why},
                                      {"mdadm --assemble", false, {}, mdadm_why}};
    try {
      if (mdadm_why.empty()) run_md(cfg, create, assemble);
      for (const auto& [name, rows] : {std::pair{"vm-md-create", &create}, std::pair{"vm-md-assemble", &assemble}}) {
        if (!wanted(cfg, name)) continue;
        report(cfg, name, *rows, out);
        if (unavailable_fails(name, *rows, cfg)) rc = 1;
      }
    } catch (const std::exception& e) {
      report_error(cfg, "vm-md", e.what(), out);
      rc = 1;
    }
  }
  // Boot-per-repetition scenarios: every boot is cold, no warm-up round.
  auto cold_scenario = [&](const std::string& name, std::vector<Measured> rows,
                           void (*measure)(const Config&, std::vector<Measured>&)) {
    if (!wanted(cfg, name)) return;
    try {
      measure(cfg, rows);
      Config cold = cfg;
      cold.warmup = 0;
      report(cold, name, rows, out);
      if (unavailable_fails(name, rows, cfg)) rc = 1;
    } catch (const std::exception& e) {
      report_error(cfg, name, e.what(), out);
      rc = 1;
    }
  };
  cold_scenario("vm-sysvol-boot",
                {{"first boot", true, {}, ""}, {"second boot", true, {}, ""}, {"second, loading modules", true, {}, ""}},
                run_sysvol);
  cold_scenario("vm-sysvol-firstboot",
                {{"ours (mos_sysvol)", true, {}, ""}, {"tools (sgdisk..swapon)", false, {}, ""}}, run_sysvol_vs_tools);
  cold_scenario("vm-sysvol-dual",
                {{"ours (mos_sysvol, 2 disks)", true, {}, ""}, {"tools (sgdisk, mdadm, mkfs.*..)", false, {}, ""}},
                run_dual_vs_tools);
  cold_scenario("vm-replace-disk",
                {{"ours (replace-disk --wait)", true, {}, replace_disk_unavailable()},
                 {"manual (sgdisk, mdadm, btrfs)", false, {}, ""}},
                run_replace_disk);
  if (cfg.json) std::cout << json{{"reps", cfg.reps}, {"warmup", cfg.warmup}, {"scenarios", out}}.dump(2) << "\n";
  return rc;
}

}  // namespace mos::bench
