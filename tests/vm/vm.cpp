#include "tests/vm/vm.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/modules.hpp"
#include "tests/vm/cpio.hpp"
#include "tests/vm/guest.hpp"

#ifndef MOS_VM_INIT
#error "MOS_VM_INIT (path of the static guest init) must be defined by tests/vm/CMakeLists.txt"
#endif

namespace mos::vmtest {

namespace {

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Module names the guest will ask for: boot modules, the scenario's, and load_modules steps.
std::vector<std::string> modules_needed(const VmSpec& spec) {
  std::vector<std::string> names = {"virtio_pci", "virtio_blk"};
  for (const auto& m : spec.scenario.value("modules", json::array())) names.push_back(m.get<std::string>());
  for (const auto& s : spec.scenario.value("steps", json::array()))
    if (s.value("op", "") == "load_modules")
      for (const auto& m : s.value("names", json::array())) names.push_back(m.get<std::string>());
  names.insert(names.end(), spec.extra_modules.begin(), spec.extra_modules.end());
  return names;
}

std::vector<json> parse_result_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t at = line.find(kResultPrefix);
    if (at == std::string::npos) continue;
    json j = json::parse(line.substr(at + std::strlen(kResultPrefix)), nullptr, false);
    if (!j.is_discarded()) lines.push_back(std::move(j));
  }
  return lines;
}

// A copy of host_path without debug sections, for the initramfs: the RelWithDebInfo static
// mos_sysvol is ~77 MB with them and ~6 MB without, and the guest kernel unpacks the whole
// archive at every boot (~2.3 s of TCG per boot for ~90 MB). Kept in MOS_VM_STRIP_DIR (build
// tree) under the file's size and mtime, made once per build, by objcopy (binutils comes with
// gcc); small files and anything objcopy refuses (scripts, data) are used as they are.
std::string without_debug_sections(const std::string& host_path) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (8 << 20)) return host_path;
  const std::string dir = MOS_VM_STRIP_DIR;
  ::mkdir(dir.c_str(), 0755);
  std::string base = host_path.substr(host_path.rfind('/') + 1);
  std::string cached = dir + "/" + base + "." + std::to_string(st.st_size) + "." +
                       std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  if (readable(cached)) return cached;
  // Unique per process and call: two ctest jobs may strip the same binary at once; rename is atomic.
  static std::atomic<int> serial{0};  // guests are started from several threads (replay_run.hpp)
  std::string tmp = cached + ".tmp" + std::to_string(::getpid()) + "." + std::to_string(++serial);
  pid_t pid = ::fork();
  if (pid < 0) return host_path;
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::execlp("objcopy", "objcopy", "--strip-debug", host_path.c_str(), tmp.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || ::rename(tmp.c_str(), cached.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return host_path;
  }
  return cached;
}

}  // namespace

std::optional<GuestKernel> find_guest_kernel() {
  std::optional<GuestKernel> best;
  DIR* d = ::opendir("/lib/modules");
  if (!d) return best;
  while (dirent* e = ::readdir(d)) {
    std::string v = e->d_name;
    if (v.empty() || v[0] == '.') continue;
    GuestKernel k{v, "/boot/vmlinuz-" + v, "/lib/modules/" + v};
    if (!readable(k.image) || !readable(k.modules_dir + "/modules.dep")) continue;
    if (!best || ::strverscmp(v.c_str(), best->version.c_str()) > 0) best = k;
  }
  ::closedir(d);
  return best;
}

std::optional<std::string> find_qemu() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/qemu-system-x86_64";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

std::string vm_unavailable_reason() {
  if (!find_qemu()) return "qemu-system-x86_64 not found (scripts/setup installs qemu-system-x86)";
  if (!find_guest_kernel())
    return "no kernel with modules under /boot and /lib/modules (scripts/setup installs linux-image-amd64)";
  if (!readable(MOS_VM_INIT)) return std::string("guest init ") + MOS_VM_INIT + " not built";
  return "";
}

std::vector<std::string> ldd_libraries(const std::string& ldd_output) {
  std::vector<std::string> files;
  std::istringstream lines(ldd_output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t arrow = line.find("=> /"), slash = line.find_first_not_of(" \t");
    size_t from = arrow != std::string::npos ? arrow + 3 : (slash != std::string::npos && line[slash] == '/' ? slash : std::string::npos);
    if (from == std::string::npos) continue;  // linux-vdso: in the kernel
    files.push_back(line.substr(from, line.find(' ', from) - from));
  }
  return files;
}

std::string vm_temp_path(const std::string& name, const std::string& suffix) {
  return "/var/tmp/mos_vm_" + name + "_" + std::to_string(::getpid()) + suffix;
}

std::vector<std::string> build_initramfs(const VmSpec& spec, const GuestKernel& kernel, const std::string& out_path) {
  CpioWriter cpio;
  cpio.add_dir("/dev");
  cpio.add_char_device("/dev/console", 5, 1);  // the kernel opens it for PID 1 before devtmpfs
  for (const char* d : {"/proc", "/sys", "/run", "/tmp", "/bin", "/etc"}) cpio.add_dir(d);
  cpio.add_host_file("/init", MOS_VM_INIT, 0755);
  for (const auto& [guest, host] : spec.binaries) cpio.add_host_file(guest, without_debug_sections(host), 0755);

  const std::string guest_modules = "/lib/modules/" + kernel.version;
  for (const auto& file : engine::resolve_modules(modules_needed(spec), kernel.modules_dir)) {
    std::string rel = file.substr(kernel.modules_dir.size());  // "/kernel/fs/..."
    cpio.add_host_file(guest_modules + rel, file, 0644);
  }
  for (const char* index : {"modules.dep", "modules.softdep", "modules.alias", "modules.builtin",
                            "modules.builtin.modinfo"})
    if (readable(kernel.modules_dir + "/" + index))
      cpio.add_host_file(guest_modules + "/" + index, kernel.modules_dir + "/" + index, 0644);

  json scenario = spec.scenario;
  if (!scenario.contains("wait_devices")) {
    json devs = json::array();
    for (size_t i = 0; i < spec.disks.size(); ++i) devs.push_back(std::string("/dev/vd") + char('a' + i));
    scenario["wait_devices"] = devs;
  }
  cpio.add_file("/scenario.json", scenario.dump(2));
  for (const auto& [guest, contents] : spec.extra_files) cpio.add_file(guest, contents);
  cpio.write(out_path);
  return cpio.paths();
}

const json* VmResult::step(size_t i) const {
  for (const auto& l : lines)
    if (l.contains("step") && l["step"] == i && !l.contains("event")) return &l;
  return nullptr;
}

const json* VmResult::event(const std::string& name) const {
  for (const auto& l : lines)
    if (l.value("event", "") == name) return &l;
  return nullptr;
}

std::string VmResult::console_tail(size_t n) const {
  size_t pos = console.size();
  for (size_t count = 0; pos > 0 && count <= n; --pos)
    if (console[pos - 1] == '\n') ++count;
  return console.substr(pos);
}

std::string VmResult::explain() const {
  std::string s = "qemu exit " + std::to_string(exit_status) + (timed_out ? " (TIMED OUT)" : "") + ", " +
                  std::to_string(lines.size()) + " result lines\n";
  for (const auto& l : lines)
    if (l.contains("ok") && !l["ok"].get<bool>()) s += "failed: " + l.dump() + "\n";
  return s + "---- console tail ----\n" + console_tail();
}

VmResult run_vm(const VmSpec& spec) {
  VmResult result;
  auto kernel = find_guest_kernel();
  auto qemu = find_qemu();
  if (!kernel || !qemu) {
    result.console = vm_unavailable_reason();
    return result;
  }
  for (const auto& disk : spec.disks) {
    int fd = ::open(disk.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create disk image " + disk.path);
    struct stat st {};
    ::fstat(fd, &st);
    if (static_cast<uint64_t>(st.st_size) < disk.size_bytes && ::ftruncate(fd, static_cast<off_t>(disk.size_bytes)) != 0)
      throw std::runtime_error("cannot size disk image " + disk.path);
    ::close(fd);
  }
  const std::string initramfs = vm_temp_path(spec.name, ".cpio");
  const std::string console_path = vm_temp_path(spec.name, ".console");
  const std::string results_path = vm_temp_path(spec.name, ".results");
  const std::string qemu_log = vm_temp_path(spec.name, ".qemu");
  result.initramfs_paths = build_initramfs(spec, *kernel, initramfs);

  std::vector<std::string> argv = {*qemu, "-accel", "tcg", "-cpu", "max", "-smp", std::to_string(spec.cpus),
                                   "-m", std::to_string(spec.memory_mib), "-nodefaults", "-display", "none",
                                   "-no-reboot", "-kernel", kernel->image, "-initrd", initramfs,
                                   // no_timer_check: under host load TCG can miss the kernel's IO-APIC timer probe, which
                                   // then panics ("IO-APIC + timer doesn't work") before init.
                                   "-append", "console=ttyS0 panic=-1 quiet no_timer_check " + spec.cmdline_extra + (std::getenv("MOS_VM_DEBUG_CMDLINE") ? std::string(" ") + std::getenv("MOS_VM_DEBUG_CMDLINE") : std::string()),
                                   "-serial", "file:" + console_path, "-serial", "file:" + results_path};
  bool ahci_added = false, scsi_added = false;
  int ahci_port = 0;
  for (size_t i = 0; i < spec.disks.size(); ++i) {
    const auto& disk = spec.disks[i];
    std::string id = std::string("d").append(std::to_string(i));  // not "d" + string: GCC 12 -O3 false -Wrestrict
    argv.insert(argv.end(), {"-drive", "file=" + disk.path + ",if=none,format=raw,cache=unsafe,discard=unmap,"
                                       "detect-zeroes=unmap,id=" + id});
    std::string dev;
    switch (disk.bus) {
      case VmBus::virtio: dev = "virtio-blk-pci,drive=" + id; break;
      case VmBus::nvme: dev = "nvme,drive=" + id + ",serial=MOSNVME" + std::to_string(i); break;
      case VmBus::ahci:
        if (!ahci_added) argv.insert(argv.end(), {"-device", "ahci,id=ahci"});
        ahci_added = true;
        dev = "ide-hd,drive=" + id + ",bus=ahci." + std::to_string(ahci_port++) + ",serial=MOSATA" + std::to_string(i);
        break;
      case VmBus::scsi_removable:
        if (!scsi_added) argv.insert(argv.end(), {"-device", "virtio-scsi-pci,id=scsi"});
        scsi_added = true;
        dev = "scsi-hd,drive=" + id + ",bus=scsi.0,removable=on";
        break;
    }
    if (disk.sector_size != 512)
      dev += ",logical_block_size=" + std::to_string(disk.sector_size) +
             ",physical_block_size=" + std::to_string(disk.sector_size);
    argv.insert(argv.end(), {"-device", dev});
  }

  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test killed by ctest's timeout takes its guest with it
    int log = ::open(qemu_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    ::_exit(127);
  }
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(spec.timeout_s)) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.console = slurp(console_path);
  std::string qemu_out = slurp(qemu_log);
  if (!qemu_out.empty()) result.console += "\n---- qemu ----\n" + qemu_out;
  result.lines = parse_result_lines(slurp(results_path));
  if (result.lines.empty()) result.lines = parse_result_lines(result.console);
  for (const auto& p : {initramfs, console_path, results_path, qemu_log}) ::unlink(p.c_str());
  if (std::getenv("MOS_VM_VERBOSE")) {  // debugging a scenario: everything on stderr
    std::fprintf(stderr, "---- %s: console ----\n%s\n---- result lines ----\n", spec.name.c_str(),
                 result.console.c_str());
    for (const auto& l : result.lines) std::fprintf(stderr, "%s\n", l.dump().c_str());
  }
  return result;
}

}  // namespace mos::vmtest
