// btrfs: primary superblock at 64 KiB ("_BHRfS_M" at +0x40). UUID is the filesystem id,
// UUID_SUB this device's dev_item uuid.
#include "fsmake/probe/btrfs.hpp"

#include <xxhash.h>

#include <cstring>
#include <iterator>

namespace mos::fsmake::probe {
namespace {

bool probe_btrfs(ProbeSource& src, uint64_t, Found& out) {
  auto b = src.get(kBtrfsCopyOffsets[0], sizeof(BtrfsSuperblockHead));
  if (b.empty()) return false;
  btrfs_fill(*reinterpret_cast<const BtrfsSuperblockHead*>(b.data()), out);
  return true;
}

constexpr Magic kMagics[] = {{"_BHRfS_M", kBtrfsCopyOffsets[0] + 0x40}};

}  // namespace

namespace {

// The checksum csum_type names over bytes 0x20..4096, as it is stored (little-endian, the rest
// of the 32 bytes zero), and its length; 0 when it cannot be computed here.
size_t compute_checksum(std::span<const uint8_t> block, uint8_t out[32]) {
  const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(block.data());
  const uint8_t* covered = block.data() + 0x20;
  const size_t len = kBtrfsSuperblockBytes - 0x20;
  std::memset(out, 0, 32);
  switch (sb.csum_type.get()) {
    case 0:
      store_le32(out, crc32c(covered, len));
      return 4;
    case 1:
      store_le64(out, XXH64(covered, len, 0));
      return 8;
    default:
      return 0;  // sha256, blake2b: no implementation here; or a type btrfs does not know
  }
}

}  // namespace

BtrfsChecksum btrfs_checksum(std::span<const uint8_t> block) {
  if (block.size() < kBtrfsSuperblockBytes) return BtrfsChecksum::wrong;
  const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(block.data());
  uint8_t want[32];
  if (size_t n = compute_checksum(block, want)) return std::memcmp(want, sb.csum, n) == 0 ? BtrfsChecksum::ok : BtrfsChecksum::wrong;
  return sb.csum_type.get() <= 3 ? BtrfsChecksum::not_verifiable : BtrfsChecksum::unknown_type;
}

bool btrfs_set_checksum(std::span<uint8_t> block) {
  if (block.size() < kBtrfsSuperblockBytes) return false;
  uint8_t csum[32];
  if (!compute_checksum(block, csum)) return false;
  std::memcpy(block.data(), csum, sizeof csum);
  return true;
}

std::string btrfs_checksum_name(uint16_t csum_type) {
  static const char* const kNames[] = {"crc32c", "xxhash64", "sha256", "blake2b"};
  return csum_type < std::size(kNames) ? kNames[csum_type] : "unknown type " + std::to_string(csum_type);
}

void btrfs_fill(const BtrfsSuperblockHead& sb, Found& out) {
  out.label = label_text(sb.label);
  out.uuid = uuid_text(sb.fsid);
  out.uuid_sub = uuid_text(sb.dev_uuid);
}

std::string btrfs_primary_fault(ProbeSource& src) {
  auto b = src.get(kBtrfsCopyOffsets[0], kBtrfsSuperblockBytes);
  if (b.empty()) return {};
  const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(b.data());
  switch (btrfs_checksum(b)) {
    case BtrfsChecksum::wrong: return "primary superblock checksum mismatch";
    case BtrfsChecksum::unknown_type: return "primary superblock names an unknown checksum type " + std::to_string(sb.csum_type.get());
    default: break;
  }
  if (sb.bytenr.get() != kBtrfsCopyOffsets[0]) return "primary superblock claims to be at " + std::to_string(sb.bytenr.get());
  return {};
}

extern constinit const Prober kBtrfs{"btrfs", "filesystem", kMiB, kMagics, probe_btrfs};

}  // namespace mos::fsmake::probe
