// metadata_csum checksums (crc32c, raw register as the kernel's ext4_chksum): every one is
// seeded with crc32c(~0, fs uuid) except the superblock's own checksum.
#pragma once
#include <cstddef>
#include <cstdint>

#include "fsmake/ext4_structs.hpp"

namespace mos::fsmake::ext4 {

uint32_t csum_seed(const uint8_t uuid[16]);
void set_superblock_csum(Superblock& sb);
bool superblock_csum_ok(const Superblock& sb);
uint16_t group_desc_csum(uint32_t seed, uint32_t group, const GroupDesc& gd);
// The same over a descriptor of desc_size bytes (32 without 64bit, else s_desc_size).
uint16_t group_desc_csum(uint32_t seed, uint32_t group, const uint8_t* desc, size_t desc_size);
// gdt_csum (uninit_bg without metadata_csum): crc16 over the fs uuid, the group and the
// descriptor without its checksum field.
uint16_t group_desc_crc16(const uint8_t uuid[16], uint32_t group, const uint8_t* desc, size_t desc_size);
uint32_t bitmap_csum(uint32_t seed, const uint8_t* bitmap, size_t bytes);
// Seed for per-inode structures (inode, directory blocks, extent blocks).
uint32_t inode_csum_seed(uint32_t seed, uint32_t ino, uint32_t generation);
uint32_t inode_csum(uint32_t seed, uint32_t ino, const Inode& inode);
void set_inode_csum(uint32_t seed, uint32_t ino, Inode& inode);
// Directory leaf block with a DirTail in its last 12 bytes.
uint32_t dir_block_csum(uint32_t iseed, const uint8_t* block, uint32_t block_size);
// Extent tree block whose header says eh_max entries; the tail follows them.
uint32_t extent_block_csum(uint32_t iseed, const uint8_t* block);

}  // namespace mos::fsmake::ext4
