// btrfs: primary superblock at 64 KiB ("_BHRfS_M" at +0x40). UUID is the filesystem id,
// UUID_SUB this device's dev_item uuid.
#include "fsmake/probe/btrfs.hpp"

#include <xxhash.h>

#include <cstring>

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

BtrfsChecksum btrfs_checksum(std::span<const uint8_t> block) {
  if (block.size() < kBtrfsSuperblockBytes) return BtrfsChecksum::wrong;
  const auto& sb = *reinterpret_cast<const BtrfsSuperblockHead*>(block.data());
  const uint8_t* covered = block.data() + 0x20;
  const size_t len = kBtrfsSuperblockBytes - 0x20;
  switch (sb.csum_type.get()) {
    case 0:
      return crc32c(covered, len) == load_le32(sb.csum) ? BtrfsChecksum::ok : BtrfsChecksum::wrong;
    case 1:
      return XXH64(covered, len, 0) == load_le64(sb.csum) ? BtrfsChecksum::ok : BtrfsChecksum::wrong;
    case 2:
    case 3:
      return BtrfsChecksum::not_verifiable;  // sha256, blake2b: no implementation here
    default:
      return BtrfsChecksum::unknown_type;
  }
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
