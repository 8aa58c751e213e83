#include "fsmake/ext4_csum.hpp"

#include <cstring>

namespace mos::fsmake::ext4 {

namespace {

// CRC-16 (polynomial 0x8005, reflected), e2fsprogs' ext2fs_crc16 and the kernel's crc16.
uint16_t crc16_update(uint16_t crc, const uint8_t* p, size_t len) {
  while (len--) {
    crc ^= *p++;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : static_cast<uint16_t>(crc >> 1);
  }
  return crc;
}

uint32_t crc_le32(uint32_t crc, uint32_t v) {
  uint8_t b[4];
  store_le32(b, v);
  return crc32c_update(crc, b, 4);
}
}  // namespace

uint32_t csum_seed(const uint8_t uuid[16]) { return crc32c_update(~0u, uuid, 16); }

void set_superblock_csum(Superblock& sb) {
  sb.s_checksum = crc32c_update(~0u, &sb, offsetof(Superblock, s_checksum));
}

bool superblock_csum_ok(const Superblock& sb) {
  return sb.s_checksum.get() == crc32c_update(~0u, &sb, offsetof(Superblock, s_checksum));
}

uint16_t group_desc_csum(uint32_t seed, uint32_t group, const GroupDesc& gd) {
  return group_desc_csum(seed, group, reinterpret_cast<const uint8_t*>(&gd), sizeof(GroupDesc));
}

uint16_t group_desc_csum(uint32_t seed, uint32_t group, const uint8_t* desc, size_t desc_size) {
  const uint8_t zero[2] = {0, 0};
  uint32_t c = crc_le32(seed, group);
  c = crc32c_update(c, desc, kDescChecksumOffset);
  c = crc32c_update(c, zero, 2);
  c = crc32c_update(c, desc + kDescChecksumOffset + 2, desc_size - kDescChecksumOffset - 2);
  return static_cast<uint16_t>(c & 0xFFFF);
}

uint16_t group_desc_crc16(const uint8_t uuid[16], uint32_t group, const uint8_t* desc, size_t desc_size) {
  uint8_t g[4];
  store_le32(g, group);
  uint16_t c = crc16_update(0xFFFF, uuid, 16);
  c = crc16_update(c, g, 4);
  c = crc16_update(c, desc, kDescChecksumOffset);
  return crc16_update(c, desc + kDescChecksumOffset + 2, desc_size - kDescChecksumOffset - 2);
}

uint32_t bitmap_csum(uint32_t seed, const uint8_t* bitmap, size_t bytes) {
  return crc32c_update(seed, bitmap, bytes);
}

uint32_t inode_csum_seed(uint32_t seed, uint32_t ino, uint32_t generation) {
  return crc_le32(crc_le32(seed, ino), generation);
}

uint32_t inode_csum(uint32_t seed, uint32_t ino, const Inode& inode) {
  Inode copy;
  std::memcpy(&copy, &inode, sizeof copy);
  copy.i_checksum_lo = 0;
  bool has_hi = copy.i_extra_isize.get() >= 4;
  if (has_hi) copy.i_checksum_hi = 0;
  return crc32c_update(inode_csum_seed(seed, ino, inode.i_generation), &copy, sizeof copy);
}

void set_inode_csum(uint32_t seed, uint32_t ino, Inode& inode) {
  uint32_t c = inode_csum(seed, ino, inode);
  inode.i_checksum_lo = static_cast<uint16_t>(c & 0xFFFF);
  if (inode.i_extra_isize.get() >= 4) inode.i_checksum_hi = static_cast<uint16_t>(c >> 16);
}

uint32_t dir_block_csum(uint32_t iseed, const uint8_t* block, uint32_t block_size) {
  return crc32c_update(iseed, block, block_size - sizeof(DirTail));
}

uint32_t extent_block_csum(uint32_t iseed, const uint8_t* block) {
  ExtentHeader h;
  std::memcpy(&h, block, sizeof h);
  size_t tail = sizeof(ExtentHeader) + sizeof(Extent) * h.eh_max.get();
  return crc32c_update(iseed, block, tail);
}

}  // namespace mos::fsmake::ext4
