#include "fsmake/btrfs_super.hpp"

#include <cstring>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"

namespace mos::fsmake::btrfs {

SuperBlock parse_super(const std::vector<uint8_t>& bytes, uint64_t expected_bytenr) {
  if (bytes.size() < sizeof(SuperBlock)) throw_validation("btrfs superblock read short");
  SuperBlock sb;
  std::memcpy(&sb, bytes.data(), sizeof sb);
  const std::string where = "btrfs superblock at " + std::to_string(expected_bytenr);
  if (sb.magic != kMagic) throw_validation(where + ": no btrfs magic");
  if (sb.csum_type != BTRFS_CSUM_TYPE_CRC32) throw_validation(where + ": checksum type is not crc32c");
  if (load_le32(bytes.data()) != block_csum(bytes.data(), sizeof sb)) throw_validation(where + ": bad checksum");
  if (sb.bytenr != expected_bytenr) throw_validation(where + ": records bytenr " + std::to_string(sb.bytenr));
  if (sb.sys_chunk_array_size > sizeof sb.sys_chunk_array) throw_validation(where + ": sys chunk array too big");
  return sb;
}

}  // namespace mos::fsmake::btrfs
