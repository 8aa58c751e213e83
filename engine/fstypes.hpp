// The filesystem types, one table (as libblkid's idinfo or mdadm's superswitch): each entry says
// what a type is and allows — label rule, id kind, mount options, multi-device, kernel need and
// writer. The RPC schema, the CLI help, the mount option allow list and format's validation and
// dispatch look them up here; nothing else lists the types.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mos::engine {

struct PlanInput;    // engine/format/plans.hpp
struct WriterPlans;  // engine/format/plans.hpp
// The writer dispatch: one WritePlan per member (`device` first) and the id as blkid will print it.
using PlanFunction = WriterPlans (*)(const PlanInput& in);

struct LabelRule {
  size_t max_bytes = 0;
  std::string_view unit{};  // what the limit counts, for help texts: "bytes", "upper-case characters"
  // The writer's own check (throws Error(validation) naming the type, the limit or the character).
  void (*check)(std::string_view fstype, const std::string& label, size_t max_bytes) = nullptr;
  // The writer's word for "no label" (FAT's "NO NAME"), or null when only "" means none.
  bool (*means_none)(const std::string& label) = nullptr;
};

enum class IdKind {
  uuid,           // RFC 4122, 36 characters as blkid prints it
  fat_volume_id,  // 32 bits, XXXX-XXXX
};

// Filesystem mount options by key; a non-empty value set restricts the value.
using MountOptionKeys = std::map<std::string, std::set<std::string>>;

struct FilesystemType {
  std::string name;  // blkid's TYPE, the fstype callers name
  LabelRule label{};
  IdKind id_kind = IdKind::uuid;
  MountOptionKeys mount_options{};  // beyond the generic ones every filesystem takes
  bool mountable = false;           // a block filesystem storage.mount is meant for (swap is not)
  // Multi-device types: tells the kernel a member exists (BTRFS_IOC_SCAN_DEV); null otherwise.
  void (*register_member)(const std::string& device_path) = nullptr;
  std::vector<std::string> writer_options{};  // members of a request's "options" its writer reads
  std::string kernel_filesystem{};  // as /proc/filesystems lists it; "" when none is needed (swap)
  std::string kernel_module{};      // the module (or built-in) that provides it
  PlanFunction plan = nullptr;      // null: known, but creating one is refused with `refusal`
  std::string refusal{};

  bool creatable() const { return plan != nullptr; }
  bool multi_device() const { return register_member != nullptr; }
  bool takes_writer_option(std::string_view option) const;
};

// Every type, in the order the RPC enum and the help texts name them.
const std::vector<FilesystemType>& filesystem_types();
// nullptr for a type the table does not know.
const FilesystemType* find_filesystem_type(std::string_view name);
// Throws Error(invalid_params) "fstype 'X' is not one of ..." (the table's names) when unknown.
const FilesystemType& filesystem_type(std::string_view name);

// Names of the types `keep` selects, in table order: "vfat, ext4, swap or btrfs" with
// separator ", " and last_separator " or ".
std::string fstype_names(const std::function<bool(const FilesystemType&)>& keep, std::string_view separator,
                         std::string_view last_separator);
// The names messages and help texts quote, joined ", " and " and ": the types whose writer reads
// `option` ("ext4" for full_init), the multi-device types, those with a FAT volume id, and those
// known but refused.
std::string fstypes_taking(std::string_view writer_option);
std::string multi_device_fstypes();
std::string volume_id_fstypes();
std::string refused_fstypes();
// The label limits of the creatable types, types with the same limit side by side joined with '/':
// "vfat: 11 upper-case characters; ext4/swap: 16 bytes; btrfs: 255 bytes".
std::string label_limits_text();
// The longest label any type takes, in bytes.
size_t longest_label_bytes();

// Where the running kernel's filesystems are read (tests point them at fixtures).
struct KernelPlaces {
  std::string proc_filesystems = "/proc/filesystems";
  std::string modules_dir;  // empty: /lib/modules/$(uname -r)
};
// The kernel has the type or can load it: listed in /proc/filesystems, or its module (or a
// built-in of that name) in the modules directory. True when the type needs nothing (swap).
bool kernel_has(const FilesystemType& type, const KernelPlaces& where = {});

// The one list of what storage.mount mounts and storage.unmount unmounts: the table's mountable
// types (btrfs, ext4, vfat), and the names in `extra` (the daemon's --mount-fstype) only while
// /proc/filesystems lists them as block filesystems (not "nodev"): never tmpfs, proc or overlay,
// and never a name the kernel would first load a module for (request_module). Throws
// Error(validation) naming what is mounted otherwise.
void require_mountable_fstype(std::string_view fstype, const std::vector<std::string>& extra,
                              const KernelPlaces& where = {});

}  // namespace mos::engine
