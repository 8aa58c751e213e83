#include "engine/inventory/inventory.hpp"

#include <limits.h>
#include <stdlib.h>

#include "engine/btrfs/json.hpp"
#include "engine/inventory/cache.hpp"
#include "ioctl/mountinfo.hpp"

namespace mos::engine {

std::optional<std::string> mos_role_of_label(const std::string& label) {
  if (label == "MOSEFI") return "efi";
  if (label == "MOSBOOT") return "boot";
  if (label == "MOSSWAP") return "swap";
  if (label == "MOSDATA") return "data";
  return std::nullopt;
}

void to_json(json& j, const Filesystem& f) {
  to_json(j, f.device);
  j["mos"] = f.mos;
  j["mos_role"] = f.mos_role;
}

void to_json(json& j, const MountInfo& m) {
  j = json{{"target", m.target}, {"source", m.source},   {"fstype", m.fstype},
           {"options", m.options}, {"super_options", m.super_options}, {"root", m.root},
           {"device", m.device}, {"label", m.label},     {"mos", m.mos}};
}

void to_json(json& j, const FilesystemSubvolumes& s) {
  j = json{{"fsid", s.fsid},           {"label", s.label}, {"device", s.device}, {"mounted_at", s.mounted_at},
           {"mos", s.mos},             {"subvolumes", s.subvolumes}, {"error", s.error}};
}

void to_json(json& j, const Inventory& i) {
  j = json{{"disks", i.disks}, {"partitions", i.partitions}, {"filesystems", i.filesystems},
           {"mounts", i.mounts}, {"raids", i.raids}, {"subvolumes", i.subvolumes}};
}

std::vector<Device> list_disks(const std::vector<Device>& all) {
  std::vector<Device> out;
  for (const auto& d : all)
    if (d.kind != "partition") out.push_back(d);
  return out;
}

std::vector<Device> list_partitions(const std::vector<Device>& all) {
  std::vector<Device> out;
  for (const auto& d : all)
    if (d.kind == "partition") out.push_back(d);
  return out;
}

std::vector<Filesystem> list_filesystems(const std::vector<Device>& all) {
  std::vector<Filesystem> out;
  for (const auto& d : all) {
    if (!d.fstype) continue;
    // Filesystems and swap; RAID/LVM/LUKS members carry something else.
    if (d.usage && *d.usage != "filesystem" && *d.fstype != "swap") continue;
    Filesystem f{d, false, std::nullopt};
    if (d.label) f.mos_role = mos_role_of_label(*d.label);
    f.mos = f.mos_role.has_value();
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<MountInfo> list_mounts(const std::vector<Device>& all) {
  std::vector<MountInfo> out;
  for (const auto& m : io::read_mountinfo()) {
    if (m.source.rfind("/dev/", 0) != 0) continue;  // block-device filesystems only
    MountInfo mi{m.mount_point, m.source, m.fstype, m.mount_options, m.super_options, m.root,
                 std::nullopt, std::nullopt, false};
    char buf[PATH_MAX];
    if (realpath(m.source.c_str(), buf)) {
      std::string real = buf;
      for (const auto& d : all)
        if (d.path == real) {
          mi.device = d.path;
          mi.label = d.label;
          mi.mos = d.label && mos_role_of_label(*d.label).has_value();
        }
    }
    out.push_back(std::move(mi));
  }
  return out;
}

Inventory inventory_of(const std::vector<Device>& all) {
  Inventory inv{list_disks(all), list_partitions(all), list_filesystems(all), list_mounts(all), list_raids(Context{}), {}};
  inv.subvolumes = mounted_subvolumes(inv.mounts);
  return inv;
}

Inventory inventory() { return inventory_of(discover_devices()); }

}  // namespace mos::engine
