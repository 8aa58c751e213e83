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

}  // namespace mos::vmtest
