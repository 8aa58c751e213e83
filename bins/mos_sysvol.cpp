// mos_sysvol: boot-time oneshot (static). Options and output only; the job is
// engine::sysvol::run. Exit 0 ready and whole, 2 ready with part of the layout out of service
// (degraded or damaged, reported), 1 not ready.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "engine/json.hpp"
#include "engine/sysvol/run.hpp"

namespace {

// One write per line so the kernel keeps each as one record with its level.
void to_kmsg(int fd, int level, const std::string& line) {
  std::string rec = "<" + std::to_string(level) + ">mos_sysvol: " + line + "\n";
  (void)!::write(fd, rec.data(), rec.size());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mos::engine::sysvol;
  RunOptions opts;
  std::string allow, log_mode = "auto";
  bool json_out = false, no_modules = false;
  CLI::App app{"mos_sysvol: boot-time storage provisioning for MOS nodes (first boot: partition and format blank "
               "disks; later boots: assemble and mount MOS storage)"};
  app.add_option("--config", opts.config_path, "configuration file")->capture_default_str();
  app.add_option("--cmdline", opts.cmdline_path, "kernel command line (mossize=N, mosswap=N)")->capture_default_str();
  app.add_option("--allow-devices", allow, "comma-separated globs: the only devices read or written, e.g. '/dev/vd*'");
  app.add_option("--root", opts.root, "prefix for every mount point and [[dirs]] path (tests)");
  app.add_option("--modules-dir", opts.modules_dir, "kernel modules directory (default /lib/modules/$(uname -r))");
  app.add_flag("--no-modules", no_modules, "load no kernel modules");
  app.add_flag("--json", json_out, "print the report as JSON on stdout (human lines go to stderr)");
  app.add_flag("--dry-run", opts.dry_run, "print the plan, write and mount nothing");
  app.add_option("--log", log_mode, "console | kmsg | auto (kmsg when started by PID 1 without a terminal)")
      ->check(CLI::IsMember({"auto", "console", "kmsg"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!allow.empty()) opts.policy = mos::engine::Policy::from_globs(allow);
  opts.load_modules = !no_modules;
  if (!opts.root.empty() && opts.root.back() == '/') opts.root.pop_back();

  bool kmsg = log_mode == "kmsg" || (log_mode == "auto" && !::isatty(STDOUT_FILENO) && ::getppid() == 1);
  int kmsg_fd = kmsg ? ::open("/dev/kmsg", O_WRONLY | O_CLOEXEC) : -1;
  FILE* human = json_out ? stderr : stdout;
  LogFn log = [&](int level, const std::string& line) {
    if (kmsg_fd >= 0) to_kmsg(kmsg_fd, level, line);
    std::fprintf(human, "mos_sysvol: %s\n", line.c_str());
    std::fflush(human);
  };

  Report r = run(opts, log);
  if (json_out) {
    mos::engine::json j = r;
    std::printf("%s\n", mos::engine::json_text(j, 2).c_str());
  }
  return exit_status(r);
}
