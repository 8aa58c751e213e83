// Device discovery: every block device in /sys/class/block with the facts of the DESIGN.md
// contract. Content facts (fstype, label, uuid, partition table names) come from our own
// prober and GPT reader, never from blkid or udev.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/json.hpp"

namespace mos::engine {

struct Device {
  std::string path;  // /dev/NAME
  std::string name;
  std::string kind;  // disk | partition | loop | md | dm | zram | rom
  uint64_t size_bytes = 0;
  uint32_t logical_sector_size = 512;
  uint32_t physical_sector_size = 512;
  bool rotational = false;
  bool removable = false;
  bool read_only = false;
  std::optional<std::string> model, serial;
  std::optional<std::string> parent;  // /dev/... of the whole disk for partitions
  std::optional<uint32_t> partnum;
  std::optional<uint64_t> start_bytes;
  std::optional<std::string> partlabel, partuuid, parttype, parttype_name;
  std::optional<std::string> pttype, ptuuid;  // partition table carried by this device
  std::optional<std::string> fstype, label, uuid, fsversion, usage;
  // The primary superblock or GPT header is not to be trusted and which copy is valid (the
  // prober's ProbeResult::damaged); null when healthy.
  std::optional<std::string> damaged;
  std::vector<std::string> mountpoints;
  std::vector<std::string> holders;  // /dev/... of devices built on this one (md, dm)
  std::optional<std::string> backing_file;  // loop devices
  unsigned major = 0, minor = 0;
};
void to_json(json& j, const Device& d);

struct DiscoverOptions {
  DiscoverOptions(bool probe = true, std::function<bool(const Device&)> only = {})
      : probe_content(probe), probe_only(std::move(only)) {}
  bool probe_content = true;  // read signatures and partition tables (small reads)
  // When set, only devices it accepts are read (the rest keep null content facts): scans on
  // behalf of a policy never open a device the policy leaves out.
  std::function<bool(const Device&)> probe_only;
};

std::vector<Device> discover_devices(const DiscoverOptions& opts = {});
// One device by path (/dev/loop0) or name (loop0); throws -32002 when absent.
Device find_device(const std::string& path_or_name, const DiscoverOptions& opts = {});
// "/dev/loop0" or "loop0" -> "loop0" (validated: no '/', no '..'); throws -32001 otherwise.
std::string device_name_from_path(const std::string& path_or_name);

}  // namespace mos::engine
