#include "engine/partition/partition.hpp"

#include "base/error.hpp"

namespace mos::engine {

Device partition_device(const PartitionInfo& p, bool discover) {
  Device d;
  bool found = false;
  if (discover) {
    try {
      d = find_device(p.path);
      found = true;
    } catch (const Error&) {
      // The table is written but the kernel did not take the partition (see the plan's notes):
      // describe it from the table rather than failing the whole call.
    }
  }
  if (!found) {
    d.path = p.path;
    d.name = p.name;
    d.kind = "partition";
    d.size_bytes = p.size_bytes;
    d.logical_sector_size = d.physical_sector_size = p.logical_sector_size;
  }
  // Fill what content probing left empty with the entry we wrote.
  if (!d.parent) d.parent = p.disk;
  if (!d.partnum) d.partnum = p.number;
  if (!d.start_bytes) d.start_bytes = p.start_bytes;
  if (!d.partlabel) d.partlabel = p.partlabel;
  if (!d.partuuid) d.partuuid = p.partuuid;
  if (!d.parttype) d.parttype = p.parttype;
  if (!d.parttype_name) d.parttype_name = p.parttype_name;
  return d;
}

}  // namespace mos::engine
