// Native FAT32 writer (mkfs.vfat -F 32 equivalent); its test reader: fsmake/readers/.
//
// Decisions (see also fat32.cpp):
// - Cluster size follows Microsoft's FAT32 default table (fatgen103), read in bytes of
//   device size: <=260 MiB 512 B, <=8 GiB 4 KiB, <=16 GiB 8 KiB, <=32 GiB 16 KiB, else
//   32 KiB; never smaller than the logical sector. dosfstools reads the same table in
//   *sectors*, so on 4096-byte-sector devices it can pick larger clusters than we do.
// - 32 reserved sectors, 2 FATs, media 0xF8, FSInfo at sector 1, backup boot sector at 6 and
//   backup FSInfo at 7, root directory at cluster 2.
// - The data area starts on a cluster boundary (padding the FAT, not the reserved area), and
//   the total sector count is rounded down to whole "tracks" (CHS sectors/track) as
//   mkfs.vfat does, because mtools refuses volumes that are not.
// - Labels: at most 11 bytes of upper-case ASCII letters, digits, space (not leading) and
//   ! # $ % & ' ( ) - @ ^ _ ` { } ~. Lower case is rejected rather than silently
//   upper-cased, so the label a caller looks up is exactly the one on disk. Empty = none
//   (boot sector says "NO NAME", no root-directory label entry), as mkfs.vfat does.
// - hidden_sectors: the partition's start LBA if the caller knows it, else 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/write_plan.hpp"

namespace mos::fsmake::fat32 {

struct Fat32Options {
  std::string label;
  std::optional<uint32_t> volume_id;  // random when absent; blkid prints it as XXXX-XXXX
  uint32_t hidden_sectors = 0;        // start LBA of the partition when known (BPB_HiddSec)
};

// The geometry a FAT32 volume gets on a device of a given size (all counts in logical sectors).
struct Layout {
  uint32_t sector_size = 0;
  uint32_t sectors_per_cluster = 0;
  uint32_t reserved_sectors = 0;
  uint32_t fat_count = 0;
  uint32_t fat_sectors = 0;           // per FAT
  uint32_t total_sectors = 0;
  uint32_t cluster_count = 0;         // data clusters, numbered 2..cluster_count+1
  uint16_t sectors_per_track = 0;
  uint16_t heads = 0;

  uint32_t cluster_bytes() const { return sector_size * sectors_per_cluster; }
  uint64_t fat_offset(uint32_t i) const {
    return (uint64_t{reserved_sectors} + uint64_t{i} * fat_sectors) * sector_size;
  }
  uint64_t data_offset() const { return fat_offset(fat_count); }
  uint64_t cluster_offset(uint32_t cluster) const {
    return data_offset() + uint64_t{cluster - 2} * cluster_bytes();
  }
};

// Validates the size and returns the layout mkfs would use; throws mos::Error(validation)
// with the smallest/largest possible size when FAT32 cannot exist on this device.
Layout compute_layout(uint64_t device_size_bytes, uint32_t logical_sector_size);

inline constexpr size_t kLabelBytes = 11;  // BS_VolLab; ASCII only, so also characters

// Throws mos::Error(validation) naming the offending character.
void validate_label(const std::string& label);

// "" and "NO NAME" (FAT's word for no label, trailing spaces aside): no label entry is written and
// blkid shows no label, as with mkfs.fat.
bool means_no_label(const std::string& label);

// The bytes of a fresh FAT32 volume. Validates everything first; never writes.
mos::WritePlan plan_mkfs(const Fat32Options& opts, uint64_t device_size_bytes,
                        uint32_t logical_sector_size);

// "XXXX-XXXX" as blkid prints a FAT volume id.
std::string volume_id_string(uint32_t volume_id);

// A random volume id, never 0 (blkid shows 0000-0000 as no UUID); throws when getrandom fails.
uint32_t random_volume_id();

}  // namespace mos::fsmake::fat32
