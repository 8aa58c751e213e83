// A small device-mapper client for the VM test init (tests-only code): create a mapped device
// from a table through the DM ioctls (linux/dm-ioctl.h), remove it.
// The guest has no udev and no dmsetup: the device is used by its kernel node, /dev/dm-N.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mos::vmtest {

struct DmTarget {
  uint64_t start = 0;   // 512-byte sectors
  uint64_t length = 0;  // 512-byte sectors
  std::string type;     // "log-writes", "linear", ...
  std::string params;   // "/dev/vda /dev/vdc"
};

// DM_DEV_CREATE, DM_TABLE_LOAD, then DM_DEV_SUSPEND without the suspend flag (= resume, which
// makes the table live). Returns the kernel node, e.g. "/dev/dm-0", once it exists, and links
// /dev/mapper/NAME to it.
std::string dm_create(const std::string& name, const std::vector<DmTarget>& table);
// DM_DEV_SUSPEND with DM_SUSPEND_FLAG (in-flight I/O drains; new I/O waits in the kernel until
// resume), then BLKFLSBUF so that reads cannot be served from the page cache either.
void dm_suspend(const std::string& name);
// DM_DEV_SUSPEND without the flag: the held I/O proceeds.
void dm_resume(const std::string& name);
// DM_DEV_REMOVE (fails with EBUSY while the device is open or mounted).
void dm_remove(const std::string& name);

// Size of a block device in 512-byte sectors (BLKGETSIZE64 / 512).
uint64_t device_sectors(const std::string& path);

}  // namespace mos::vmtest
