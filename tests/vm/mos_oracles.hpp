// The oracle tools on a powered-off MOS disk image (host side, root: read-only loop devices over
// its partitions): sgdisk -v, sfdisk, fsck.fat -n, e2fsck -fn, blkid, btrfs check --readonly.
// The judge returns what is wrong, one line per problem, so that one caller can EXPECT it empty
// and another (the write-log replay) can count outcomes.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mos::vmtest {

struct MosImageExpect {
  uint32_t sector = 512;
  uint64_t swap_bytes = 0;       // 0: any size
  uint64_t data_bytes = 0;       // 0: any size
  bool allow_fat_dirty = false;  // the ESP was mounted at power loss (only the dirty bit may differ)
};

// One disk holding the whole MOS layout: GPT (sgdisk -v), the five partitions by name, FAT32
// MOSEFI (fsck.fat -n), ext4 MOSBOOT (e2fsck -fn), swap MOSSWAP (blkid), btrfs MOSDATA (check).
std::vector<std::string> single_disk_problems(const std::string& image, const MosImageExpect& expect = {});

// Two 512-byte disks of one node: both GPTs (sgdisk -v) with the five partitions, md v0.90
// (mosefi) and v1.2 (mosboot) RAID1 members on both (mdadm --examine, one array UUID each),
// FAT32 in the v0.90 member (fsck.fat -n), ext4 at the v1.2 data offset (e2fsck -fn), swap on
// each (blkid), btrfs RAID1 over both mosdata partitions (btrfs check with both present, two
// devices). Of `expect`, only allow_fat_dirty counts (the disks are 512-byte, sizes any).
std::vector<std::string> dual_disk_problems(const std::string& a, const std::string& b, const MosImageExpect& expect = {});

}  // namespace mos::vmtest
