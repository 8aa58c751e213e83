// The btrfs superblock as the btrfs prober and the mirror search read it (linux/btrfs_tree.h
// struct btrfs_super_block): 4 KiB at 64 KiB, mirrors at 64 MiB and 256 GiB, each checksummed
// over bytes 0x20..4096 with the filesystem's checksum type and carrying its own offset.
#pragma once
#include <string>

#include "base/bytes.hpp"
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

struct BtrfsSuperblockHead {
  uint8_t csum[32];
  uint8_t fsid[16];          // 0x20
  le64 bytenr;               // 0x30: where this copy is written
  le64 flags;                // 0x38
  uint8_t magic[8];          // 0x40
  le64 generation;           // 0x48
  uint8_t pad1[0xc4 - 0x50];
  le16 csum_type;            // 0xc4: 0 crc32c, 1 xxhash64, 2 sha256, 3 blake2b
  uint8_t pad2[0xc9 - 0xc6];
  uint8_t dev_item_head[66];  // 0xc9: devid .. dev_group, seek_speed, bandwidth
  uint8_t dev_uuid[16];      // 0x10b
  uint8_t dev_fsid[16];      // 0x11b
  uint8_t label[256];        // 0x12b
};
static_assert(sizeof(BtrfsSuperblockHead) == 0x22b);

inline constexpr uint64_t kBtrfsSuperblockBytes = 4096;
// Copy i lives at 16 KiB << (12 * i): the primary (64 KiB) and two mirrors.
inline constexpr uint64_t kBtrfsCopyOffsets[] = {64ull << 10, 64ull << 20, 256ull << 30};

// What a superblock copy's checksum says.
enum class BtrfsChecksum { ok, wrong, not_verifiable, unknown_type };
BtrfsChecksum btrfs_checksum(std::span<const uint8_t> block);
// Label, UUID (fsid) and UUID_SUB (this device's uuid) as blkid prints them.
void btrfs_fill(const BtrfsSuperblockHead& sb, Found& out);

// Why the primary superblock a table prober matched is not to be trusted ("" when it checks out).
std::string btrfs_primary_fault(ProbeSource& src);

}  // namespace mos::fsmake::probe
