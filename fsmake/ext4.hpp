// Native ext4 writer: builds the same filesystem mke2fs 1.47 builds for "mkfs.ext4" with the
// stock mke2fs.conf (features, geometry, journal size, resize inode, flex_bg placement, block
// allocation of root, lost+found and journal), as a WritePlan the engine applies. The reader/
// validator used by tests lives in fsmake/readers/ext4_read.hpp.
//
// Differences from mke2fs, on purpose:
// - default (lazy) mode equals `mkfs.ext4 -E lazy_itable_init=1,lazy_journal_init=1`: inode
//   tables and journal are not zeroed (the kernel zeroes tables in the background; jbd2 with
//   metadata_csum checksums its blocks with the new UUID, so stale log blocks never replay).
//   full_init zeroes both through zero ranges and sets ITABLE_ZEROED, like
//   `-E lazy_itable_init=0,lazy_journal_init=0`.
// - no discard; bytes 0..1023 (boot sector) are left alone, as mke2fs does.
// - above 2^32 - 1 blocks (16 TiB at 4 KiB) resize_inode is dropped, exactly as mke2fs does.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/write_plan.hpp"

namespace mos::fsmake::ext4 {

struct Ext4Options {
  std::string label;                             // up to kLabelBytes
  std::optional<std::array<uint8_t, 16>> uuid;   // random when absent
  bool full_init = false;  // zero inode tables + journal (zero ranges) and set ITABLE_ZEROED
  uint32_t block_size = 0;  // 0 = like mke2fs (1024 below 512 MiB, else 4096; >= sector size)
};

inline constexpr size_t kLabelBytes = 16;  // s_volume_name
inline constexpr uint64_t kMinDeviceBytes = 8ull << 20;
inline constexpr uint64_t kMaxDeviceBytes = 16ull << 40;

// Validates everything first (mos::Error validation, nothing planned), then returns the plan.
mos::WritePlan plan_mkfs(const Ext4Options& options, uint64_t device_size_bytes,
                        uint32_t logical_sector_size);

}  // namespace mos::fsmake::ext4
