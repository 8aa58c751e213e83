// md RAID1 through the kernel, without mdadm: create (native superblocks, then the md ioctls),
// assemble (probe, group by array UUID, freshest event count wins, stale members left out and
// reported), stop, status/list from sysfs, add a replacement member (rebuild as a job), fail and
// remove a member. Arrays are named: md device "md_<name>" (/dev/md_<name>) plus the udev-style
// link /dev/md/<name> -> ../md_<name>, which we make ourselves (no udev in the initramfs).
//
// Names: [A-Za-z0-9_-]{1,32}. Metadata 1.2 stores the name in its superblock. Metadata 0.90 has
// no name field, so assembly names a 0.90 array after the GPT partition name (partlabel) its
// members share when that is a valid name, else "md<preferred minor>" from the superblock.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/format/format.hpp"
#include "engine/json.hpp"
#include "mdraid/superblock.hpp"

namespace mos::engine {

// Throws -32001 unless the name matches [A-Za-z0-9_-]{1,32}.
void validate_raid_name(const std::string& name);
// "mosefi" -> "md_mosefi" (kernel block name), "/dev/md_mosefi", "/dev/md/mosefi".
std::string raid_block_name(const std::string& name);
std::string raid_device_path(const std::string& name);
std::string raid_link_path(const std::string& name);

struct RaidMember {
  std::optional<std::string> device;  // /dev/NAME; nullopt for a missing slot
  std::optional<int> slot;            // role in the array; nullopt for a spare
  // in_sync | spare | rebuilding | faulty | missing (slot with no device) | stale (left out)
  std::string state;
  std::optional<uint64_t> events;  // from the member's superblock when read
};
void to_json(json& j, const RaidMember& m);

struct RaidArray {
  std::string name;                  // "mosefi"
  std::string device;                // "/dev/md_mosefi"
  std::optional<std::string> link;   // "/dev/md/mosefi" when present
  // As the kernel reports it (md/metadata_version): "0.90" | "1.2" for ours, and also "1.0",
  // "external:imsm", ... for arrays made elsewhere.
  std::string metadata;
  std::optional<std::string> uuid;   // array UUID as blkid prints it (36 characters)
  std::string level;                 // "raid1"
  std::string state;                 // md array_state: clean | active | readonly | inactive | ...
  unsigned raid_disks = 0;
  unsigned degraded = 0;             // slots without a working member
  std::optional<std::string> sync_action;  // idle | resync | recover | check | ...
  std::optional<uint64_t> sync_done_bytes, sync_total_bytes;
  uint64_t size_bytes = 0;           // of the md device
  std::vector<RaidMember> members;   // by slot, then spares
};
void to_json(json& j, const RaidArray& a);

struct RaidCreateRequest {
  std::string name;
  mdraid::Metadata metadata = mdraid::Metadata::v1_2;
  std::vector<std::string> members;   // two devices, or one device and "missing" (degraded)
  std::optional<std::string> uuid;    // array UUID (36 characters); random when absent
  // Zero the members' data areas (bulk write-zeroes) and write the superblocks clean, so the
  // kernel starts without a resync.
  bool zero_members = false;
  // The caller asserts the data areas are already identical: no resync.
  bool assume_clean = false;
  bool force = false;    // overwrite existing signatures (never a mounted/held member)
  bool dry_run = false;  // plans only, nothing written, nothing started
  // false: write the superblocks only (no kernel step); for hosts without the md driver.
  bool start = true;
};

struct RaidCreateResult {
  RaidArray array;                    // as sysfs reports it once started (planned values otherwise)
  bool started = false;
  bool dry_run = false;
  bool resync = false;                // the kernel runs an initial resync
  std::vector<FormatMember> members;  // every member written, with its plan
};
void to_json(json& j, const RaidCreateResult& r);

// Every member and the md device are checked before the first byte is written.
RaidCreateResult create_raid(const RaidCreateRequest& req, const Context& ctx);

struct RaidAssembleRequest {
  std::optional<std::string> name;   // only this array
  std::optional<std::string> uuid;   // only this array UUID
  std::vector<std::string> devices;  // probe only these (each allowed by the policy); empty = all allowed
  bool dry_run = false;              // report what would be assembled, start nothing
};

struct RaidLeftOut {
  std::string device;
  std::string reason;  // "stale: events 12 < 15", "diverged: ...", "in use: ..."
};
void to_json(json& j, const RaidLeftOut& l);

struct RaidAssembly {
  std::string name;
  std::string uuid;
  mdraid::Metadata metadata = mdraid::Metadata::v1_2;
  // started | started_degraded | already_running | would_start | would_start_degraded | failed
  std::string outcome;
  std::vector<std::string> members;     // used
  std::vector<int> missing_slots;       // slots with no fresh member
  std::vector<RaidLeftOut> left_out;    // never merged silently
  std::optional<RaidArray> array;       // status after starting (or of the running array)
  std::optional<std::string> error;     // when outcome is failed
};
void to_json(json& j, const RaidAssembly& a);

struct RaidAssembleResult {
  std::vector<RaidAssembly> arrays;
};
void to_json(json& j, const RaidAssembleResult& r);

// Probes allowed devices, groups md members by array UUID and starts each group not yet
// running. One failing array does not stop the others (its outcome says failed).
RaidAssembleResult assemble_raids(const RaidAssembleRequest& req, const Context& ctx);

// `array` is a name ("mosefi"), /dev/md_<name>, /dev/md/<name> or any md device path.
// Refuses while the md device is mounted or held.
RaidArray stop_raid(const std::string& array, const Context& ctx);

// Every md array the kernel has (read-only, like storage.list_disks: not filtered by policy).
std::vector<RaidArray> list_raids(const Context& ctx);

struct RaidAddRequest {
  std::string array;
  std::string device;     // blank replacement, at least as large as the array needs
  bool force = false;     // overwrite existing signatures
  bool dry_run = false;
};
struct RaidAddResult {
  RaidArray array;
  std::optional<uint64_t> job;  // rebuild job id (Jobs registry, kind "raid_rebuild")
  bool dry_run = false;
  std::optional<FormatMember> member;
};
void to_json(json& j, const RaidAddResult& r);

// Writes a spare superblock for `array` on the device, adds it (ADD_NEW_DISK); the kernel
// rebuilds onto it. The rebuild is followed by a job (done/total from sync_completed).
RaidAddResult raid_add_member(const RaidAddRequest& req, const Context& ctx);

// Waits (polling sysfs) until the kernel's rebuild of `member` (/dev/NAME) into the running array
// `array_device` (/dev/md_<name>) ended with it in sync; progress in bytes. Throws when it fails,
// leaves the array, the kernel does not start the rebuild, or on cancel.
RaidArray wait_member_in_sync(const std::string& array_device, const std::string& member,
                              const std::function<void(uint64_t, uint64_t)>& progress, const std::atomic<bool>* cancel);

// Marks the member faulty (SET_DISK_FAULTY) and removes it (HOT_REMOVE_DISK).
RaidArray raid_remove_member(const std::string& array, const std::string& device, const Context& ctx);

}  // namespace mos::engine
