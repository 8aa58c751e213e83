// The safety gate in front of every destructive operation (new partition table, mkfs, wipe,
// zero, raid create, mos_sysvol): refuse mounted or held devices always, and devices carrying
// any known signature, partition table or unrecognised data unless forced.
#pragma once
#include <string>

#include "engine/inventory/devices.hpp"
#include "fsmake/probe/probe.hpp"
#include "fsmake/probe/source.hpp"

namespace mos::engine {

// Throws -32001 with the reason (mounted at X, held by Y, active swap, btrfs member,
// exclusively opened by the kernel, carries a signature, unrecognised data at offset N).
// Returns the device as discovered.
Device require_unused(const std::string& device_path, bool force);

// Only the "in use" half (disk_access.hpp busy_reason over the device and, for a disk, its
// partitions); ignores content.
void require_not_in_use(const Device& d);

// Only the "not empty" half: why a device must not be overwritten without force (a partition
// table, a signature, a damaged filesystem or table, a non-zero byte where a format keeps a
// superblock or a copy (content_state.hpp), and for a whole device a partition table erased in
// front of intact partitions (erased_table.hpp)); "" when it looks blank.
std::string content_refusal(const Device& d);
// The same for content already probed (r) through src; whole_device adds the erased-table scan.
std::string content_refusal(const std::string& path, const fsmake::ProbeResult& r, fsmake::ProbeSource& src,
                            bool whole_device);

// require_unused split around an exclusive open, for a caller that holds the device while it
// checks and writes (mkfs): first everything but the content (from sysfs and the kernel's
// mount/swap/holder tables; read-only refused), then, with the device held, the content gate
// over windows read once (the same source then lists the signatures to erase). The second
// fills d's content facts from the probe and refuses unless force.
Device require_idle(const std::string& device_path);
void require_blank_unless_forced(Device& d, fsmake::ProbeSource& src, bool force);

}  // namespace mos::engine
