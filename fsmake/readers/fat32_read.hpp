// FAT32 reader/validator for tests and fuzzing (not product code: the engine never reads FAT
// through it; fsck.fat stays the real oracle).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "fsmake/fat32.hpp"

namespace mos::fsmake::fat32 {

// ---- reading back (fat32_read.cpp) ----

struct VolumeInfo {
  Layout layout;
  uint32_t volume_id = 0;
  std::string boot_label;             // trailing spaces removed; "NO NAME" when none
  std::optional<std::string> root_label;  // the volume-label entry in the root directory
  uint32_t hidden_sectors = 0;
  uint32_t free_count = 0;            // from FSInfo
  uint32_t next_free = 0;
  uint32_t root_cluster = 0;
};

// Reads len bytes at offset of the volume into buf (a device, an image, a plan in memory).
using ReadFn = std::function<void(uint64_t offset, void* buf, size_t len)>;

// Parses and checks a FAT32 volume's boot sector, FSInfo, backups, FAT heads and root
// directory cluster; throws mos::Error(validation) describing the first inconsistency.
VolumeInfo read_volume(const ReadFn& read);

}  // namespace mos::fsmake::fat32
