// md v0.90 superblock (mdp_super_t): parse, serialize, and the kernel's checksum (the 32-bit
// fold of the sum of all 1024 words with sb_csum zeroed, md_csum_fold / mdadm calc_csum).
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "mdraid/md_structs.hpp"
#include "mdraid/super_internal.hpp"

namespace mos::mdraid {
namespace {

constexpr uint32_t kStateClean = 1u << 0;
constexpr uint32_t kStateBitmap = 1u << 8;

static_assert(offsetof(disk::Super090, utime) == 32 * 4);
static_assert(offsetof(disk::Super090, layout) == 64 * 4);
static_assert(offsetof(disk::Super090, disks) == 128 * 4);
static_assert(offsetof(disk::Super090, this_disk) == 992 * 4);

Disk090 from_disk(const disk::Disk090& d) {
  return {d.number.get(), d.major.get(), d.minor.get(), d.raid_disk.get(), d.state.get()};
}

void to_disk(const Disk090& m, disk::Disk090& d) {
  d.number = m.number, d.major = m.major, d.minor = m.minor, d.raid_disk = m.raid_disk,
  d.state = m.state;
}

// The v1-style role a descriptor describes.
uint16_t role_of(const Disk090& d) {
  if (d.state & (kDiskFaulty | kDiskRemoved)) return kRoleFaulty;
  if ((d.state & kDiskActive) && (d.state & kDiskSync) && d.raid_disk < kRoleMax)
    return static_cast<uint16_t>(d.raid_disk);
  return kRoleSpare;
}

}  // namespace

uint32_t checksum_090(std::span<const uint8_t> sb) {
  return detail::folded_word_sum(sb, sizeof(disk::Super090), offsetof(disk::Super090, sb_csum));
}

namespace detail {

Superblock parse_super090(std::span<const uint8_t> bytes, uint64_t device_size) {
  const char* v = "0.90";
  if (bytes.size() < sizeof(disk::Super090))
    bad_superblock(v, "truncated: " + std::to_string(bytes.size()) + " bytes, needs 4096");
  disk::Super090 d;
  std::memcpy(&d, bytes.data(), sizeof d);
  if (d.md_magic.get() != disk::kMagic) {
    if (load_be32(bytes.data()) == disk::kMagic)
      bad_superblock(v, "written by a big-endian host; only little-endian 0.90 is supported");
    bad_superblock(v, "no md magic in the last 64 KiB-aligned 64 KiB");
  }
  // The kernel takes 0.90 and 0.91 (0.91: mid-reshape).
  if (d.major_version.get() != 0 || d.minor_version.get() < 90 || d.minor_version.get() > 91)
    bad_superblock(v, "version " + std::to_string(d.major_version.get()) + "." +
                          std::to_string(d.minor_version.get()) + ", expected 0.90");
  uint32_t raid_disks = d.raid_disks.get();
  if (raid_disks == 0 || raid_disks > disk::kDisks090)
    bad_superblock(v, "raid_disks " + std::to_string(raid_disks) + " is out of range (1..27)");
  if (d.nr_disks.get() > disk::kDisks090)
    bad_superblock(v, "nr_disks " + std::to_string(d.nr_disks.get()) + " exceeds 27");
  if (d.this_disk.number.get() >= disk::kDisks090)
    bad_superblock(v,
                   "this_disk.number " + std::to_string(d.this_disk.number.get()) + " exceeds 26");
  uint64_t sb_off = superblock_offset(Metadata::v0_90, device_size);
  uint64_t component_sectors = uint64_t{d.size.get()} * 2;
  if (component_sectors * 512 > sb_off)
    bad_superblock(v, "component size " + std::to_string(d.size.get()) +
                          " KiB runs past the superblock at byte " + std::to_string(sb_off));

  Superblock sb;
  sb.metadata = Metadata::v0_90;
  uint32_t words[4] = {d.set_uuid0.get(), d.set_uuid1.get(), d.set_uuid2.get(), d.set_uuid3.get()};
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 4; ++b)
      sb.array_uuid[4 * w + b] = static_cast<uint8_t>(words[w] >> (24 - 8 * b));
  sb.level = static_cast<int32_t>(d.level.get());
  sb.layout = d.layout.get();
  sb.raid_disks = raid_disks;
  sb.ctime = d.ctime.get();
  sb.utime = d.utime.get();
  sb.events = (uint64_t{d.events_hi.get()} << 32) | d.events_lo.get();
  sb.state = d.state.get();
  sb.clean = sb.state & kStateClean;
  sb.resync_offset = d.recovery_cp.get();
  sb.md_minor = d.md_minor.get();
  sb.nr_disks = d.nr_disks.get();
  sb.active_disks = d.active_disks.get();
  sb.working_disks = d.working_disks.get();
  sb.failed_disks = d.failed_disks.get();
  sb.spare_disks = d.spare_disks.get();
  for (const auto& dd : d.disks) sb.disks.push_back(from_disk(dd));
  sb.this_disk = from_disk(d.this_disk);
  sb.dev_number = sb.this_disk.number;
  sb.role = role_of(sb.this_disk);
  for (const auto& dd : sb.disks) sb.roles.push_back(role_of(dd));
  sb.superblock_offset = sb_off;
  sb.data_offset_sectors = 0;
  sb.data_size_sectors = sb_off / 512;
  sb.component_sectors = component_sectors;
  sb.has_bitmap = sb.state & kStateBitmap;
  sb.bitmap_offset_sectors = sb.has_bitmap ? 8 : 0;
  sb.checksum_ok = checksum_090(bytes) == d.sb_csum.get();
  sb.raw.assign(bytes.begin(), bytes.begin() + sizeof(disk::Super090));
  return sb;
}

std::vector<uint8_t> serialize_super090(const Superblock& sb) {
  if (sb.disks.size() > static_cast<size_t>(disk::kDisks090))
    throw Error(ErrorCode::internal, "md 0.90 superblock has more than 27 descriptors");
  if (sb.component_sectors / 2 > 0xffffffffull)
    throw_validation("md metadata 0.90 cannot describe a component of " +
                     std::to_string(sb.component_sectors / 2) + " KiB (4 TiB at most)");
  std::vector<uint8_t> out(sizeof(disk::Super090), 0);
  if (!sb.raw.empty()) std::memcpy(out.data(), sb.raw.data(), std::min(sb.raw.size(), out.size()));
  disk::Super090 d;
  std::memcpy(&d, out.data(), sizeof d);
  d.md_magic = disk::kMagic;
  d.major_version = 0;
  d.minor_version = d.minor_version.get() >= 90 ? d.minor_version.get() : 90;
  auto word = [&](int w) {
    const uint8_t* p = sb.array_uuid.data() + 4 * w;
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
  };
  d.set_uuid0 = word(0), d.set_uuid1 = word(1), d.set_uuid2 = word(2), d.set_uuid3 = word(3);
  d.ctime = static_cast<uint32_t>(sb.ctime);
  d.level = static_cast<uint32_t>(sb.level);
  d.size = static_cast<uint32_t>(sb.component_sectors / 2);
  d.nr_disks = sb.nr_disks;
  d.raid_disks = sb.raid_disks;
  d.md_minor = sb.md_minor;
  d.utime = static_cast<uint32_t>(sb.utime);
  uint32_t state = sb.clean ? (sb.state | kStateClean) : (sb.state & ~kStateClean);
  d.state = sb.has_bitmap ? (state | kStateBitmap) : (state & ~kStateBitmap);
  d.active_disks = sb.active_disks;
  d.working_disks = sb.working_disks;
  d.failed_disks = sb.failed_disks;
  d.spare_disks = sb.spare_disks;
  d.events_lo = static_cast<uint32_t>(sb.events);
  d.events_hi = static_cast<uint32_t>(sb.events >> 32);
  d.recovery_cp = static_cast<uint32_t>(sb.resync_offset);
  d.layout = sb.layout;
  for (size_t i = 0; i < sb.disks.size(); ++i) to_disk(sb.disks[i], d.disks[i]);
  to_disk(sb.this_disk, d.this_disk);
  d.sb_csum = 0;
  std::memcpy(out.data(), &d, sizeof d);
  store_le32(out.data() + offsetof(disk::Super090, sb_csum), checksum_090(out));
  return out;
}

}  // namespace detail
}  // namespace mos::mdraid
