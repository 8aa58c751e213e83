// mos_sysvol disk selection.
#include "engine/sysvol/disks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <map>

#include "engine/content_state.hpp"
#include "engine/disk_access.hpp"
#include "engine/erased_table.hpp"
#include "engine/inventory/content.hpp"
#include "engine/sysvol/layout.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine::sysvol {
namespace {

// Data no prober names on a disk with no signature: a non-zero byte where a format keeps a
// superblock or a copy, or filesystems where our layout's (or any MiB-aligned) partitions start.
std::optional<std::string> unnamed_content(const Device& d, const Config& cfg) {
  if (d.size_bytes == 0) return "is empty (0 bytes)";
  io::Fd fd = io::open_block(d.path, O_RDONLY);
  fsmake::ProbeSource src(fd, d.size_bytes, d.logical_sector_size, fsmake::ProbeSource::Read::whole);
  if (auto off = first_unnamed_nonzero(src))
    return "holds data that no prober names at offset " + std::to_string(*off) +
           " (where a format keeps a superblock or a copy)";
  std::vector<uint64_t> starts;
  try {
    starts = layout_partition_starts(plan_layout(d.path, d.size_bytes, d.logical_sector_size, cfg));
  } catch (const Error&) {
    // too small for the layout: refused for that below; the MiB boundaries are still looked at
  }
  if (auto found = find_erased_partitions(fd, d.size_bytes, d.logical_sector_size, starts)) return found->message();
  return std::nullopt;
}

}  // namespace

bool eligible_kind(const Device& d, const Policy& policy) {
  if (d.kind == "disk") return policy.allowed(d.path);
  static const char* kExplicitOnly[] = {"loop", "md", "dm", "zram", "rom"};
  for (const char* k : kExplicitOnly)
    if (d.kind == k) return !policy.allow_devices.empty() && policy.allowed(d.path);
  return false;  // partitions and anything unknown
}

std::optional<std::string> may_serve_mos_role(const Device& d, const Config& cfg) {
  if (d.removable && !cfg.allow_removable)
    return "is on removable media; MOS roles come from removable media only with [storage] allow_removable = true "
           "or mosremovable=1 on the kernel command line";
  return std::nullopt;
}

Selection select_disks(const std::vector<DiskFacts>& disks, const Config& cfg) {
  Selection s;
  std::vector<const Device*> blank;
  for (const auto& f : disks) {
    const Device& d = f.device;
    auto refuse = [&](const std::string& why) { s.refused.push_back({d.path, why}); };
    if (d.removable) { refuse("removable"); continue; }
    if (d.read_only) { refuse("read-only"); continue; }
    if (f.holds_root) { refuse("holds the root filesystem (/) of the running node"); continue; }
    if (f.busy) { refuse("in use: " + *f.busy); continue; }
    if (!d.holders.empty()) { refuse("held by " + d.holders.front()); continue; }
    if (!d.mountpoints.empty()) { refuse("mounted at " + d.mountpoints.front()); continue; }
    if (f.read_error) { refuse("cannot be read: " + *f.read_error); continue; }
    if (d.damaged) { refuse("carries " + damaged_content_text(probe_result_of(d))); continue; }
    if (d.pttype) { refuse("carries a " + *d.pttype + " partition table"); continue; }
    if (d.fstype) { refuse("carries a " + *d.fstype + " signature"); continue; }
    if (f.has_partitions) { refuse("has partitions"); continue; }
    if (f.unnamed_content) { refuse(*f.unnamed_content); continue; }
    try {
      plan_layout(d.path, d.size_bytes, d.logical_sector_size, cfg);
    } catch (const Error& e) {
      refuse(e.what());
      continue;
    }
    blank.push_back(&d);
  }
  std::stable_sort(blank.begin(), blank.end(), [](const Device* a, const Device* b) { return a->size_bytes > b->size_bytes; });
  std::vector<const Device*> pick;
  if (blank.size() <= 2) {
    pick = blank;
  } else {
    // The two largest of one class (rotational or not); the class whose second disk is larger wins.
    std::map<bool, std::vector<const Device*>> by_class;
    for (const Device* d : blank) by_class[d->rotational].push_back(d);
    for (auto& [rot, list] : by_class) {
      if (list.size() < 2) continue;
      if (pick.empty() || list[1]->size_bytes > pick[1]->size_bytes ||
          (list[1]->size_bytes == pick[1]->size_bytes && !rot))
        pick = {list[0], list[1]};
    }
  }
  for (const Device* d : blank) {
    if (std::find(pick.begin(), pick.end(), d) != pick.end()) s.chosen.push_back(*d);
    else s.unused.push_back({d->path, "blank, but two larger disks of one class were chosen"});
  }
  return s;
}

std::vector<DiskFacts> gather_disk_facts(const std::vector<Device>& all, const Policy& policy, const Config& cfg) {
  struct stat root{};
  bool have_root = ::stat("/", &root) == 0;
  std::vector<DiskFacts> out;
  for (const auto& d : all) {
    if (!eligible_kind(d, policy)) continue;
    DiskFacts f;
    f.device = d;
    // Sysfs and mountinfo only, no O_EXCL probe: this looks at every allowed disk (and serves the
    // daemon's read-only topologies query), so it must not claim disks other programs may be
    // opening that moment. The chosen disk is opened O_EXCL before its first write, which
    // refuses one another program holds.
    f.busy = disk_busy_reason(d.name, false);
    f.has_partitions = !kernel_partitions(d.name).empty();
    for (const auto& p : all) {
      bool mine = p.path == d.path || (p.parent && *p.parent == d.path);
      if (mine && have_root && p.major == major(root.st_dev) && p.minor == minor(root.st_dev)) f.holds_root = true;
    }
    try {
      f.unnamed_content = unnamed_content(d, cfg);
    } catch (const Error& e) {
      f.read_error = e.what();
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace mos::engine::sysvol
