// mos-volmgr-bench: throughput of our engine against the usual tools, on loop devices it
// creates in /var/tmp and always detaches. Root only.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <string>

#include "bench/bench.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mos-volmgr-bench: our engine vs the usual tools (root; loop devices in /var/tmp; --vm: qemu guest)"};
  mos::bench::Config cfg;
  std::string size = "1G";
  bool list = false;
  app.add_option("--size", size, "bytes per scenario device, e.g. 1G, 512M (default 1G)");
  app.add_option("--reps", cfg.reps, "repetitions per contender (default 5)")->check(CLI::Range(1u, 100u));
  app.add_option("--warmup", cfg.warmup, "untimed rounds before the timed ones (default 1)");
  app.add_option("--only", cfg.only, "run only these scenarios (repeatable)");
  app.add_flag("--json", cfg.json, "print results as JSON");
  app.add_flag("--list", list, "list the scenarios and exit");
  app.add_flag("--vm", cfg.vm, "run the VM scenarios (vm-*: md RAID, mos_sysvol boots) in a qemu guest");
  app.add_flag("--short", cfg.short_run,
               "CI's check that every scenario runs: 1 repetition, no warm-up, 128M, rpc included; "
               "any failure or unavailable contender exits non-zero (77: root or qemu missing)");
  CLI11_PARSE(app, argc, argv);
  if (cfg.short_run) {
    cfg.reps = 1;
    cfg.warmup = 0;
    size = "128M";  // the smallest size every scenario accepts (btrfs needs 109 MiB)
  }

  try {
    cfg.size = mos::parse_size(size, "--size");
  } catch (const mos::Error& e) {
    std::cerr << "mos-volmgr-bench: " << e.what() << "\n";
    return 2;
  }
  if (cfg.size < (16ull << 20) || cfg.size % (1ull << 20)) {
    std::cerr << "mos-volmgr-bench: --size must be a whole number of MiB, at least 16M (got '" << size << "')\n";
    return 2;
  }
  if (list) {
    for (auto& s : mos::bench::all_scenarios(cfg)) std::cout << s.name << "\t" << s.description << "\n";
    mos::bench::list_vm_scenarios();
    return 0;
  }
  bool any_vm = false, any_host = false;
  for (const auto& n : cfg.only) (mos::bench::is_vm_scenario(n) ? any_vm : any_host) = true;
  if (any_vm && any_host) {
    std::cerr << "mos-volmgr-bench: name either vm-* scenarios or host ones in one run, not both\n";
    return 2;
  }
  if (cfg.vm || any_vm) return mos::bench::run_vm_bench(cfg);
  return mos::bench::run_bench(cfg);
}
