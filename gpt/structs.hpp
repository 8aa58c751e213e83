// On-disk GPT structures (UEFI spec 2.x, chapter 5): protective MBR at LBA 0, header at LBA 1
// (primary) and the last LBA (backup), entry arrays wherever the headers point.
#pragma once
#include <cstdint>

#include "gpt/guid.hpp"
#include "base/bytes.hpp"

namespace mos::gpt {

#pragma pack(push, 1)

struct MbrPartitionRecord {
  uint8_t boot_indicator;  // 0: the protective record is not bootable
  uint8_t start_chs[3];    // 0x000200 for the protective record
  uint8_t os_type;         // 0xEE = GPT protective
  uint8_t end_chs[3];      // 0xFFFFFF when the disk exceeds CHS range (always, in practice)
  le32 starting_lba;       // 1
  le32 size_in_lba;        // disk sectors - 1, capped at 0xFFFFFFFF
};
static_assert(sizeof(MbrPartitionRecord) == 16);

struct ProtectiveMbr {
  uint8_t boot_code[440];
  le32 unique_mbr_signature;  // unused by UEFI; left 0
  le16 unknown;
  MbrPartitionRecord partitions[4];
  le16 signature;  // 0xAA55
};
static_assert(sizeof(ProtectiveMbr) == 512);

struct Header {
  char signature[8];    // "EFI PART"
  le32 revision;        // 0x00010000
  le32 header_size;     // 92; at most one logical block
  le32 header_crc32;    // zlib crc32 of header_size bytes with this field zeroed
  le32 reserved;
  le64 my_lba;
  le64 alternate_lba;
  le64 first_usable_lba;
  le64 last_usable_lba;
  Guid disk_guid;
  le64 partition_entry_lba;
  le32 number_of_partition_entries;
  le32 size_of_partition_entry;  // 128 * 2^n
  le32 partition_entry_array_crc32;
};
static_assert(sizeof(Header) == 92);

struct EntryRecord {
  Guid partition_type_guid;  // all zeros = unused slot
  Guid unique_partition_guid;
  le64 starting_lba;
  le64 ending_lba;  // inclusive
  le64 attributes;
  le16 partition_name[36];  // UTF-16LE, NUL-padded
};
static_assert(sizeof(EntryRecord) == 128);

#pragma pack(pop)

constexpr char kSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr uint32_t kRevision1_0 = 0x00010000;
constexpr uint32_t kHeaderSize = sizeof(Header);
constexpr uint8_t kProtectiveType = 0xEE;
constexpr uint16_t kMbrSignature = 0xAA55;

// Attribute bits (UEFI spec table 5-8 and the Discoverable Partitions Specification).
constexpr uint64_t kAttrRequired = 1ull << 0;
constexpr uint64_t kAttrNoBlockIo = 1ull << 1;
constexpr uint64_t kAttrLegacyBootable = 1ull << 2;
constexpr uint64_t kAttrReadOnly = 1ull << 60;
constexpr uint64_t kAttrNoAuto = 1ull << 63;

}  // namespace mos::gpt
