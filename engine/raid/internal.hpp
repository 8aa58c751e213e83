// Shared between the files of engine/raid/ (not a public API): finding an array's md
// device, reading its status from sysfs, the kernel start/stop sequence, member checks.
#pragma once
#include <string>
#include <vector>

#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/raid/raid.hpp"
#include "ioctl/fd.hpp"
#include "mdraid/superblock.hpp"

namespace mos::engine::raid {

// "mosefi", "/dev/md_mosefi", "/dev/md/mosefi", "md127" -> kernel block name of an existing md
// device; -32002 when there is none.
std::string resolve_md_block(const std::string& array);
// Array name for an md block name: "md_mosefi" -> "mosefi", "md127" -> "md127".
std::string name_of_block(const std::string& block);
// The md device and each of its members (slaves) must be allowed by the policy.
void require_md_allowed(const std::string& block, const Context& ctx);
// True when the md device holds a started array (array_state not clear/inactive/absent).
bool array_running(const std::string& block);

RaidArray read_array(const std::string& block);

// Opens /dev/<block>; creates the node from /sys/block/<block>/dev when devtmpfs has not.
io::Fd open_md_node(const std::string& block);

// The kernel part of create and assemble: new md_<name> (or an idle existing one), load
// superblocks of this version, add each member, run, link /dev/md/<name>. On failure the md
// device is stopped again so no member stays claimed. Returns the block name. read_only: started
// with md writing nothing to the members (see RaidAssembleRequest::read_only).
std::string start_array(const std::string& name, mdraid::Metadata metadata, const std::vector<Device>& members,
                        bool read_only = false);

// Throws -32000 unless the md driver with the raid1 personality is available.
void require_md_driver();

// Member path as /dev/NAME, resolved (by-id links) and allowed by the policy.
std::string member_path(const std::string& given, const Context& ctx);

// The safety gate for a device about to become a member: never mounted, held or in use; a
// signature refused unless force. With force the content is not probed (nothing it could
// report would change the answer), which keeps create and add cheap.
Device require_unused_member(const std::string& path, bool force);

// Seconds since the epoch (superblock ctime/utime).
uint64_t now_seconds();

}  // namespace mos::engine::raid
