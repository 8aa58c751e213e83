// The md driver's interfaces: the md ioctls (linux/raid/md_u.h) on an opened /dev/md_* node and
// the md sysfs tree (/sys/block/<md>/md/*, /sys/module/md_mod/parameters/new_array).
// Thin wrappers: each throws mos::Error naming the md device and the call; no policy here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::io::md {

// MD_DISK_* state bits of mdu_disk_info_t (linux/raid/md_p.h).
inline constexpr int kDiskFaulty = 1 << 0;
inline constexpr int kDiskActive = 1 << 1;
inline constexpr int kDiskSync = 1 << 2;
inline constexpr int kDiskRemoved = 1 << 3;

struct DiskInfo {
  int number = 0;  // index in the kernel's table (GET_DISK_INFO)
  unsigned major = 0, minor = 0;
  int raid_disk = -1;  // slot; -1 for a spare
  int state = 0;       // kDisk* bits
};

// GET_DISK_INFO of table entry `number`; nullopt for an empty entry (major 0).
std::optional<DiskInfo> get_disk_info(const Fd& md, int number);
// SET_ARRAY_INFO in its version-only form: "the members carry superblocks of this version,
// load them" (metadata 0.90 -> 0,90; 1.2 -> 1,2). Must precede add_new_disk when assembling.
void set_array_version(const Fd& md, int major_version, int minor_version);
// ADD_NEW_DISK: before RUN_ARRAY the kernel reads the member's superblock (and refuses one of
// another array); on a running array it adds the member as a spare and starts a recovery.
void add_new_disk(const Fd& md, unsigned major, unsigned minor);
// RUN_ARRAY: the kernel compares event counts, kicks non-fresh members and starts the array.
void run_array(const Fd& md);
// Starts the assembled array read-only (array_state "readonly"): md writes nothing to the members
// then, no superblock update and no resync, until restart_array_rw.
void run_array_read_only(const std::string& block_name);
// RESTART_ARRAY_RW: a read-only array becomes writable (a pending resync or recovery starts).
void restart_array_rw(const Fd& md);
// STOP_ARRAY: stops and disassembles; EBUSY while mounted or opened by others.
void stop_array(const Fd& md);
// SET_DISK_FAULTY / HOT_REMOVE_DISK by the member's device number.
void set_disk_faulty(const Fd& md, unsigned major, unsigned minor);
void hot_remove_disk(const Fd& md, unsigned major, unsigned minor);

// --- sysfs ---------------------------------------------------------------------------------

// True when the md driver is present (module loaded or built in).
bool driver_present();
// Creates an empty named md device "md_<name>" (/sys/module/md_mod/parameters/new_array);
// EEXIST when it already exists is reported as a storage error naming it.
void create_named_array(const std::string& block_name);
// /sys/block/<block_name>/md exists: the kernel has this md device.
bool md_device_exists(const std::string& block_name);
// /sys/block/<block_name>/md/<attr>, trimmed; nullopt when absent.
std::optional<std::string> attribute(const std::string& block_name, const std::string& attr);

// One member as md's sysfs lists it (md/dev-<name>/).
struct SysfsMember {
  std::string block_name;  // "vda1"
  std::string state;       // e.g. "in_sync", "spare", "faulty", "in_sync,write_mostly"
  std::optional<int> slot; // nullopt for "none" (spare)
  std::optional<uint64_t> offset_sectors, size_kib;
};
std::vector<SysfsMember> sysfs_members(const std::string& block_name);

// sync_completed "done / total" in 512-byte sectors; nullopt for "none" or absent.
struct SyncProgress {
  uint64_t done_sectors = 0, total_sectors = 0;
};
std::optional<SyncProgress> sync_completed(const std::string& block_name);

// md block devices (names under /sys/block that have an md/ directory), sorted.
std::vector<std::string> list_md_devices();

}  // namespace mos::io::md
