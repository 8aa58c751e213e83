// Host side of the VM tests: builds the guest initramfs (our static init and binaries, the
// kernel modules the scenario needs, /scenario.json) and boots it under qemu (TCG) with sparse
// raw files as virtio disks; returns the guest's result lines and the console.
#pragma once
#include <nlohmann/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mos::vmtest {

using json = nlohmann::json;

// The installed kernel the guest boots: the highest version with both /boot/vmlinuz-V and
// /lib/modules/V/modules.dep. nullopt when none (tests skip with a message).
struct GuestKernel {
  std::string version;
  std::string image;        // /boot/vmlinuz-V
  std::string modules_dir;  // /lib/modules/V
};
std::optional<GuestKernel> find_guest_kernel();
// qemu-system-x86_64 on PATH (or nullopt).
std::optional<std::string> find_qemu();
// Why VM tests cannot run here ("" when they can).
std::string vm_unavailable_reason();

// How a disk is presented to the guest. The guest's name for it depends on the bus and on the
// order among disks of the same bus: virtio /dev/vdX, nvme /dev/nvmeNn1, ahci and scsi /dev/sdX
// (ahci and scsi disks share the sd names in probe order; do not mix them in one guest).
enum class VmBus {
  virtio,          // virtio-blk-pci (the default)
  nvme,            // an emulated NVMe controller per disk (serial "MOSNVMEn"): real SMART / health log
  ahci,            // an IDE disk on one AHCI controller (serial "MOSATAn"): real ATA SMART
  scsi_removable,  // a scsi-hd on one virtio-scsi controller with removable=on (sysfs removable = 1)
};

struct VmDisk {
  std::string path;            // sparse raw file on the host; created (truncated to size) if missing
  uint64_t size_bytes = 0;
  uint32_t sector_size = 512;  // 4096 = a 4Kn disk (logical and physical)
  VmBus bus = VmBus::virtio;
};

struct VmSpec {
  std::string name = "vm";        // used in temp file names and messages
  json scenario = json::object(); // {"modules":[...], "allow_devices":"...", "steps":[...]}
  std::vector<VmDisk> disks;      // /dev/vda, /dev/vdb, ... in this order
  std::map<std::string, std::string> binaries;     // guest path -> host file (e.g. /bin/mos_sysvol)
  std::map<std::string, std::string> extra_files;  // guest path -> contents
  std::vector<std::string> extra_modules;          // shipped (with deps) but not loaded at boot
  std::string cmdline_extra;
  int memory_mib = 768;
  int cpus = 1;
  int timeout_s = 300;
};

struct VmResult {
  std::vector<json> lines;   // every MOSVM line, in order
  int exit_status = -1;      // qemu's
  bool timed_out = false;
  double wall_s = 0;
  std::string console;       // the whole serial console
  std::string initramfs;     // path of the image that was booted (kept for inspection)
  std::vector<std::string> initramfs_paths;

  // The line of step i (nullptr when the guest never got there).
  const json* step(size_t i) const;
  // The first line with "event" == name.
  const json* event(const std::string& name) const;
  // The last n lines of the console, for failure messages.
  std::string console_tail(size_t n = 60) const;
  // Human summary for EXPECT messages: every failed step with its error, plus the console tail.
  std::string explain() const;
};

// Writes the initramfs for spec to out_path; returns the guest paths it holds.
std::vector<std::string> build_initramfs(const VmSpec& spec, const GuestKernel& kernel, const std::string& out_path);

// Boots the guest and waits for it to power off (or kills it at the timeout).
VmResult run_vm(const VmSpec& spec);

// The shared objects an `ldd` output lists, loader included (linux-vdso is in the kernel): what a
// host tool needs beside it to run in a test or bench initramfs.
std::vector<std::string> ldd_libraries(const std::string& ldd_output);

// Where temp images go (/var/tmp/mos_vm_<name>_<pid>...).
std::string vm_temp_path(const std::string& name, const std::string& suffix);

}  // namespace mos::vmtest
