// PID 1 of the VM tests: mounts the API filesystems, loads the scenario's modules with the
// engine's resolver, runs the step script /scenario.json (tests/vm/README.md) and powers off.
// Results: one `MOSVM {json}` line per step on the console and on /dev/ttyS1 (a clean channel
// that kernel messages never interleave with).
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/utsname.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/modules.hpp"
#include "ioctl/mountinfo.hpp"
#include "ioctl/sysfs.hpp"
#include "tests/vm/guest.hpp"

namespace mos::vmtest {

namespace {

int g_console = 2;
int g_results = -1;

void write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

double uptime_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void drain_outputs() {
  ::tcdrain(g_console);
  if (g_results >= 0) ::tcdrain(g_results);
}

void mount_api(const char* source, const char* target, const char* fstype, const char* data) {
  ::mkdir(target, 0755);
  if (::mount(source, target, fstype, MS_NOSUID | (std::strcmp(fstype, "devtmpfs") ? MS_NODEV : 0), data) != 0 &&
      errno != EBUSY)
    say(std::string("mount ") + target + ": " + std::strerror(errno));
}

void open_outputs() {
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) {
    ::dup2(fd, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (fd > 2) ::close(fd);
  }
  g_console = 1;
  g_results = ::open("/dev/ttyS1", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (g_results >= 0) {
    termios t{};
    if (::tcgetattr(g_results, &t) == 0) {
      ::cfmakeraw(&t);  // no \r insertion, no echo: the host reads exactly our lines
      ::cfsetospeed(&t, B115200);
      ::tcsetattr(g_results, TCSANOW, &t);
    }
  }
}

void wait_for_devices(const json& paths, double timeout_s) {
  const double deadline = uptime_s() + timeout_s;
  for (const auto& p : paths) {
    std::string path = p.get<std::string>();
    while (::access(path.c_str(), F_OK) != 0 && uptime_s() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::access(path.c_str(), F_OK) != 0) say("device " + path + " did not appear");
  }
}

json module_results_json(const std::vector<engine::ModuleLoadResult>& results) {
  json arr = json::array();
  for (const auto& r : results) arr.push_back({{"name", r.name}, {"status", r.status}, {"detail", r.detail}});
  return arr;
}

// Mount points below our own API mounts, deepest (latest) first.
std::vector<std::string> scenario_mounts() {
  static const std::vector<std::string> kBase = {"/", "/proc", "/sys", "/dev", "/run", "/tmp"};
  std::vector<std::string> out;
  for (const auto& m : io::read_mountinfo()) {
    bool base = false;
    for (const auto& b : kBase) base = base || m.mount_point == b;
    bool api = m.mount_point.starts_with("/proc/") || m.mount_point.starts_with("/sys/") ||
               m.mount_point.starts_with("/dev/");
    if (!base && !api) out.push_back(m.mount_point);
  }
  return {out.rbegin(), out.rend()};
}

}  // namespace

void emit(const json& line) {
  std::string text = std::string(kResultPrefix) + line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  write_all(g_console, text);
  if (g_results >= 0) write_all(g_results, text);
}

void say(const std::string& text) { write_all(g_console, "mos_vm_init: " + text + "\n"); }

json release_storage() {
  json unmounted = json::array(), errors = json::array();
  for (const auto& target : scenario_mounts()) {
    if (::umount2(target.c_str(), 0) == 0) {
      unmounted.push_back(target);
    } else {
      errors.push_back("umount " + target + ": " + std::strerror(errno));
      if (::umount2(target.c_str(), MNT_DETACH) == 0) unmounted.push_back(target + " (lazy)");
    }
  }
  json swaps = json::array();
  std::ifstream in("/proc/swaps");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::string dev = line.substr(0, line.find_first_of(" \t"));
    if (dev.empty()) continue;
    if (::swapoff(dev.c_str()) == 0) swaps.push_back(dev);
    else errors.push_back("swapoff " + dev + ": " + std::strerror(errno));
  }
  json arrays = json::array();
  for (const auto& name : io::list_dir("/sys/block")) {
    if (!name.starts_with("md")) continue;
    std::string state = "/sys/block/" + name + "/md/array_state";
    try {
      io::sysfs_write(state, "clear");
      arrays.push_back(name);
    } catch (const std::exception& e) {
      try {
        io::sysfs_write(state, "inactive");
        arrays.push_back(name + " (inactive)");
      } catch (const std::exception& e2) {
        errors.push_back(std::string("stop ") + name + ": " + e2.what());
      }
    }
  }
  return {{"unmounted", unmounted}, {"swapoff", swaps}, {"md_stopped", arrays}, {"errors", errors}};
}

void clean_shutdown(const std::string& reason) {
  json summary = {{"event", "shutdown"}, {"reason", reason}, {"clean", true}};
  summary.update(release_storage());
  ::sync();
  summary["uptime_s"] = uptime_s();
  emit(summary);
  drain_outputs();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

void crash_now() {
  emit({{"event", "crash"}, {"uptime_s", uptime_s()}});
  drain_outputs();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

}  // namespace mos::vmtest

// `/init --echo|--exit N|--sleep MS`: a child for the harness's own test of the exec step
// (the initramfs holds no other program to run).
int helper_main(int argc, char** argv) {
  using mos::vmtest::json;
  std::string mode = argv[1];
  if (mode == "--exit" && argc > 2) return std::atoi(argv[2]);
  if (mode == "--sleep" && argc > 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(argv[2])));
    return 0;
  }
  if (mode == "--echo") {
    json out = {{"argv", json::array()}, {"env", json::object()}};
    for (int i = 0; i < argc; ++i) out["argv"].push_back(argv[i]);
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      out["env"][kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
    std::printf("%s\n", out.dump().c_str());
    std::fprintf(stderr, "echo to stderr\n");
    return 0;
  }
  std::fprintf(stderr, "usage: %s --echo ARGS | --exit N | --sleep MS\n", argv[0]);
  return 2;
}

int main(int argc, char** argv) {
  using namespace mos::vmtest;
  if (argc > 1 && ::getpid() != 1) return helper_main(argc, argv);
  mount_api("proc", "/proc", "proc", nullptr);
  mount_api("sysfs", "/sys", "sysfs", nullptr);
  mount_api("devtmpfs", "/dev", "devtmpfs", "mode=0755");
  open_outputs();
  mount_api("tmpfs", "/run", "tmpfs", "mode=0755");
  mount_api("tmpfs", "/tmp", "tmpfs", "mode=1777");
  ::setenv("PATH", "/bin", 1);

  utsname u{};
  ::uname(&u);
  emit({{"event", "boot"}, {"uptime_s", uptime_s()}, {"kernel", u.release}});

  json scenario;
  try {
    std::ifstream in("/scenario.json");
    if (!in) throw std::runtime_error("/scenario.json is missing from the initramfs");
    scenario = json::parse(in);
    if (!scenario.is_object() || !scenario.value("steps", json::array()).is_array())
      throw std::runtime_error("/scenario.json must be an object with a \"steps\" array");
  } catch (const std::exception& e) {
    emit({{"event", "error"}, {"error", {{"message", e.what()}}}});
    clean_shutdown("bad scenario");
  }

  // Block devices first: the virtio disks appear only once virtio_pci and virtio_blk are in.
  std::vector<std::string> modules = {"virtio_pci", "virtio_blk"};
  for (const auto& m : scenario.value("modules", json::array())) modules.push_back(m.get<std::string>());
  auto t0 = std::chrono::steady_clock::now();
  auto results = mos::engine::load_modules(modules);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  emit({{"event", "modules"}, {"ms", ms}, {"results", module_results_json(results)}});
  wait_for_devices(scenario.value("wait_devices", json::array()), 20.0);

  StepRunner runner(scenario.value("allow_devices", std::string("/dev/vd*,/dev/md*")),
                    scenario.value("volumes_dir", std::string()));
  const json& steps = scenario["steps"];
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& step = steps[i];
    std::string op = step.value("op", "");
    if (op == "shutdown") {
      emit({{"step", i}, {"op", op}, {"ok", true}});
      clean_shutdown("shutdown step");
    }
    if (op == "crash") {
      emit({{"step", i}, {"op", op}, {"ok", true}});
      crash_now();
    }
    json line = runner.run(step);
    line["step"] = i;
    line["op"] = op;
    emit(line);
    if (!line.value("ok", false)) {
      emit({{"event", "aborted"}, {"step", i}, {"remaining", steps.size() - i - 1}});
      clean_shutdown("step " + std::to_string(i) + " failed");
    }
  }
  clean_shutdown("end of steps");
}
