#include "engine/fstypes.hpp"

#include <algorithm>
#include <fstream>

#include "base/error.hpp"
#include "engine/format/plans.hpp"
#include "engine/modules.hpp"
#include "fsmake/btrfs.hpp"
#include "fsmake/ext4.hpp"
#include "fsmake/fat32.hpp"
#include "fsmake/label.hpp"
#include "fsmake/swap.hpp"
#include "ioctl/btrfs_control.hpp"

namespace mos::engine {
namespace {

// FAT's own character rules (its limit is fixed by the format; the arguments only name it).
void check_fat_label(std::string_view, const std::string& label, size_t) { fsmake::fat32::validate_label(label); }

// Whether /proc/filesystems lists fs; block_only: only as a block filesystem (no "nodev" flag).
bool proc_lists(const std::string& proc_filesystems, std::string_view fs, bool block_only = false) {
  std::ifstream in(proc_filesystems);
  std::string line;
  while (std::getline(in, line)) {
    // "nodev\tsysfs" or "\tbtrfs": the name is the last tab-separated word.
    auto tab = line.rfind('\t');
    if ((tab == std::string::npos ? line : line.substr(tab + 1)) != fs) continue;
    return !block_only || line.rfind("nodev", 0) != 0;
  }
  return false;
}

bool module_available(const std::string& modules_dir, const std::string& module) {
  try {
    resolve_modules({module}, modules_dir);  // a module file or a built-in; throws when neither
    return true;
  } catch (const Error&) {
    return false;  // no such module, or no modules directory for this kernel at all
  }
}

}  // namespace

bool FilesystemType::takes_writer_option(std::string_view option) const {
  return std::find(writer_options.begin(), writer_options.end(), option) != writer_options.end();
}

const std::vector<FilesystemType>& filesystem_types() {
  static const std::vector<FilesystemType> table = {
      {.name = "vfat",
       .label = {fsmake::fat32::kLabelBytes, "upper-case characters", check_fat_label, fsmake::fat32::means_no_label},
       .id_kind = IdKind::fat_volume_id,
       .mount_options = {{"uid", {}}, {"gid", {}}, {"umask", {}}, {"dmask", {}}, {"fmask", {}}, {"allow_utime", {}},
                         {"codepage", {}}, {"iocharset", {}}, {"shortname", {"lower", "win95", "winnt", "mixed"}},
                         {"utf8", {}}, {"flush", {}}, {"errors", {"remount-ro", "continue"}}, {"quiet", {}},
                         {"showexec", {}}, {"tz", {"UTC"}}, {"time_offset", {}}, {"discard", {}}},
       .mountable = true,
       .kernel_filesystem = "vfat",
       .kernel_module = "vfat",
       .plan = plan_vfat},
      {.name = "ext4",
       .label = {fsmake::ext4::kLabelBytes, "bytes", fsmake::validate_label},
       .mount_options = {{"errors", {"remount-ro", "continue"}}, {"discard", {}}, {"nodiscard", {}}, {"barrier", {}},
                         {"nobarrier", {}}, {"commit", {}}, {"data", {"ordered", "writeback", "journal"}},
                         {"user_xattr", {}}, {"acl", {}}, {"noacl", {}}, {"auto_da_alloc", {}}, {"noauto_da_alloc", {}},
                         {"delalloc", {}}, {"nodelalloc", {}}, {"stripe", {}}, {"inode_readahead_blks", {}},
                         {"init_itable", {}}, {"noinit_itable", {}}, {"journal_checksum", {}}},
       .mountable = true,
       .writer_options = {"full_init", "block_size"},
       .kernel_filesystem = "ext4",
       .kernel_module = "ext4",
       .plan = plan_ext4},
      // Swapped on, not mounted; the kernel's swap is no filesystem or module.
      {.name = "swap", .label = {fsmake::swap::kLabelBytes, "bytes", fsmake::validate_label}, .plan = plan_swap},
      // Never device=: it would pull in devices the policy never judged.
      {.name = "btrfs",
       .label = {fsmake::btrfs::kLabelBytes, "bytes", fsmake::validate_label},
       .mount_options = {{"subvol", {}}, {"subvolid", {}}, {"compress", {}}, {"compress-force", {}},
                         {"space_cache", {"v1", "v2"}}, {"nospace_cache", {}}, {"clear_cache", {}}, {"ssd", {}},
                         {"nossd", {}}, {"ssd_spread", {}}, {"discard", {"sync", "async"}}, {"nodiscard", {}},
                         {"autodefrag", {}}, {"noautodefrag", {}}, {"commit", {}}, {"degraded", {}},
                         {"skip_balance", {}}, {"acl", {}}, {"noacl", {}}, {"barrier", {}}, {"nobarrier", {}},
                         {"datacow", {}}, {"nodatacow", {}}, {"datasum", {}}, {"nodatasum", {}},
                         {"flushoncommit", {}}, {"noflushoncommit", {}}, {"max_inline", {}}, {"thread_pool", {}},
                         {"user_subvol_rm_allowed", {}}},
       .mountable = true,
       .register_member = io::btrfs_scan_device,
       .kernel_filesystem = "btrfs",
       .kernel_module = "btrfs",
       .plan = plan_btrfs},
      // Known (the seed's bcachefs topologies) but neither made nor mounted by the project yet.
      {.name = "bcachefs",
       .kernel_filesystem = "bcachefs",
       .kernel_module = "bcachefs",
       .refusal = "mos_volmgr has no native bcachefs writer yet (use btrfs)"},
  };
  return table;
}

const FilesystemType* find_filesystem_type(std::string_view name) {
  for (const auto& t : filesystem_types())
    if (t.name == name) return &t;
  return nullptr;
}

const FilesystemType& filesystem_type(std::string_view name) {
  if (const FilesystemType* t = find_filesystem_type(name)) return *t;
  auto every = [](const FilesystemType&) { return true; };
  throw Error(ErrorCode::invalid_params,
              "fstype '" + std::string(name) + "' is not one of " + fstype_names(every, ", ", ", "));
}

std::string fstype_names(const std::function<bool(const FilesystemType&)>& keep, std::string_view separator,
                         std::string_view last_separator) {
  std::vector<std::string_view> names;
  for (const auto& t : filesystem_types())
    if (keep(t)) names.push_back(t.name);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? last_separator : separator;
    out += names[i];
  }
  return out;
}

std::string fstypes_taking(std::string_view option) {
  return fstype_names([&](const FilesystemType& t) { return t.takes_writer_option(option); }, ", ", " and ");
}

std::string multi_device_fstypes() { return fstype_names(&FilesystemType::multi_device, ", ", " and "); }

std::string volume_id_fstypes() {
  return fstype_names([](const FilesystemType& t) { return t.id_kind == IdKind::fat_volume_id; }, ", ", " and ");
}

std::string refused_fstypes() {
  return fstype_names([](const FilesystemType& t) { return !t.creatable(); }, ", ", " and ");
}

std::string label_limits_text() {
  std::string out, group_limit;
  for (const auto& t : filesystem_types()) {
    if (!t.creatable()) continue;
    std::string limit = std::to_string(t.label.max_bytes) + " " + std::string(t.label.unit);
    if (limit == group_limit) {
      out.insert(out.size() - limit.size() - 2, "/" + t.name);  // before the group's ": limit"
      continue;
    }
    out += (out.empty() ? "" : "; ") + t.name + ": " + limit;
    group_limit = limit;
  }
  return out;
}

size_t longest_label_bytes() {
  size_t longest = 0;
  for (const auto& t : filesystem_types()) longest = std::max(longest, t.label.max_bytes);
  return longest;
}

void require_mountable_fstype(std::string_view fstype, const std::vector<std::string>& extra, const KernelPlaces& where) {
  if (const FilesystemType* t = find_filesystem_type(fstype); t && t->mountable) return;
  const bool named = std::find(extra.begin(), extra.end(), fstype) != extra.end();
  if (named && proc_lists(where.proc_filesystems, fstype, true)) return;
  std::string also;
  for (const auto& e : extra) also += ", " + e;
  const std::string why = named ? " (named by --mount-fstype, but the kernel has no block filesystem of that name loaded)"
                                : "; other block filesystems only by the daemon's --mount-fstype";
  throw Error(ErrorCode::validation, "fstype '" + std::string(fstype) + "' is not mounted by mos_volmgr: it mounts " +
                                         fstype_names(&FilesystemType::mountable, ", ", " and ") + also + why);
}

bool kernel_has(const FilesystemType& type, const KernelPlaces& where) {
  if (type.kernel_filesystem.empty()) return true;
  return proc_lists(where.proc_filesystems, type.kernel_filesystem) ||
         module_available(where.modules_dir, type.kernel_module);
}

}  // namespace mos::engine
