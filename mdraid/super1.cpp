// md v1.2 superblock (struct mdp_superblock_1): parse with the kernel's acceptance rules
// (super_1_load) and serialize with the kernel's checksum (calc_sb_1_csum).
#include <cstring>
#include <string>

#include "base/error.hpp"
#include "mdraid/md_structs.hpp"
#include "mdraid/super_internal.hpp"

namespace mos::mdraid {
namespace {

constexpr uint64_t kTimeMask = (uint64_t{1} << 40) - 1;  // low 40 bits are seconds
constexpr uint32_t kFeatureBitmap = 1;
constexpr uint32_t kFeatureAll = 0x1fff;  // MD_FEATURE_ALL (bits 0..12)

static_assert(offsetof(disk::Super1, data_offset) == 128);
static_assert(offsetof(disk::Super1, utime) == 192);
static_assert(offsetof(disk::Super1, bblog_offset) == 188);

size_t sb1_bytes(uint32_t max_dev) { return sizeof(disk::Super1) + 2 * size_t{max_dev}; }

}  // namespace

uint32_t checksum_1(std::span<const uint8_t> sb) {
  if (sb.size() < sizeof(disk::Super1)) return 0;
  uint32_t max_dev = load_le32(sb.data() + offsetof(disk::Super1, max_dev));
  return detail::folded_word_sum(sb, sb1_bytes(max_dev), offsetof(disk::Super1, sb_csum));
}

namespace detail {

Superblock parse_super1(std::span<const uint8_t> bytes, uint64_t device_size) {
  const char* v = "1.2";
  if (bytes.size() < sizeof(disk::Super1))
    bad_superblock(v, "truncated: " + std::to_string(bytes.size()) + " bytes, needs 256");
  disk::Super1 d;
  std::memcpy(&d, bytes.data(), sizeof d);
  if (d.magic.get() != disk::kMagic) bad_superblock(v, "no md magic at 4 KiB");
  if (d.major_version.get() != 1)
    bad_superblock(v, "major version " + std::to_string(d.major_version.get()) + ", expected 1");
  uint32_t max_dev = d.max_dev.get();
  if (max_dev > disk::kMaxDev1)
    bad_superblock(
        v, "max_dev " + std::to_string(max_dev) + " exceeds " + std::to_string(disk::kMaxDev1));
  if (bytes.size() < sb1_bytes(max_dev))
    bad_superblock(v, "truncated: dev_roles need " + std::to_string(sb1_bytes(max_dev)) +
                          " bytes, have " + std::to_string(bytes.size()));
  if (d.super_offset.get() != disk::kSuperOffset12 / 512)
    bad_superblock(v, "super_offset is sector " + std::to_string(d.super_offset.get()) +
                          ", expected 8 (a v1.0/1.1 superblock or a stray copy)");
  uint32_t features = d.feature_map.get();
  if (features & ~kFeatureAll)
    bad_superblock(v,
                   "feature_map " + std::to_string(features) + " has bits this md does not know");
  bool pad_zero = d.pad0.get() == 0;
  for (uint8_t b : d.pad3) pad_zero = pad_zero && b == 0;
  if (!pad_zero) bad_superblock(v, "non-zero padding (a newer md feature?)");
  uint64_t dev_sectors = device_size / 512;
  uint64_t data_offset = d.data_offset.get(), data_size = d.data_size.get();
  if (data_size < 10) bad_superblock(v, "data_size " + std::to_string(data_size) + " is too small");
  if (data_offset < 16 || data_offset > dev_sectors || data_size > dev_sectors - data_offset)
    bad_superblock(v, "data area (offset " + std::to_string(data_offset) + ", size " +
                          std::to_string(data_size) + " sectors) lies outside the device (" +
                          std::to_string(dev_sectors) + " sectors)");
  uint32_t raid_disks = d.raid_disks.get();
  if (raid_disks == 0 || raid_disks > disk::kMaxDev1)
    bad_superblock(v, "raid_disks " + std::to_string(raid_disks) + " is out of range");
  if (d.size.get() > data_size)
    bad_superblock(v, "component size " + std::to_string(d.size.get()) +
                          " sectors exceeds data_size " + std::to_string(data_size));
  int64_t bitmap_offset = static_cast<int32_t>(d.bitmap_offset.get());
  if (features & kFeatureBitmap) {
    int64_t at = 8 + bitmap_offset;
    if (at < 0 || static_cast<uint64_t>(at) >= dev_sectors)
      bad_superblock(
          v, "bitmap_offset " + std::to_string(bitmap_offset) + " points outside the device");
  }

  Superblock sb;
  sb.metadata = Metadata::v1_2;
  std::memcpy(sb.array_uuid.data(), d.set_uuid, 16);
  sb.name.assign(d.set_name, strnlen(d.set_name, sizeof d.set_name));
  sb.level = static_cast<int32_t>(d.level.get());
  sb.layout = d.layout.get();
  sb.raid_disks = raid_disks;
  sb.ctime = d.ctime.get() & kTimeMask;
  sb.utime = d.utime.get() & kTimeMask;
  sb.events = d.events.get();
  sb.resync_offset = d.resync_offset.get();
  sb.clean = sb.resync_offset == kResyncDone;
  sb.feature_map = features;
  sb.dev_number = d.dev_number.get();
  std::memcpy(sb.device_uuid.data(), d.device_uuid, 16);
  sb.devflags = d.devflags;
  sb.superblock_offset = disk::kSuperOffset12;
  sb.data_offset_sectors = data_offset;
  sb.data_size_sectors = data_size;
  sb.component_sectors = d.size.get();
  sb.recovery_offset = d.recovery_offset.get();
  sb.bblog_shift = d.bblog_shift;
  sb.bblog_size = d.bblog_size.get();
  sb.bblog_offset = static_cast<int32_t>(d.bblog_offset.get());
  sb.max_dev = max_dev;
  sb.roles.resize(max_dev);
  for (uint32_t i = 0; i < max_dev; ++i) sb.roles[i] = load_le16(bytes.data() + 256 + 2 * i);
  sb.role = sb.dev_number < max_dev ? sb.roles[sb.dev_number] : kRoleSpare;
  sb.has_bitmap = features & kFeatureBitmap;
  sb.bitmap_offset_sectors = sb.has_bitmap ? bitmap_offset : 0;
  sb.checksum_ok = checksum_1(bytes) == d.sb_csum.get();
  sb.raw.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(sb1_bytes(max_dev)));
  return sb;
}

std::vector<uint8_t> serialize_super1(const Superblock& sb) {
  if (sb.max_dev > disk::kMaxDev1 || sb.roles.size() > sb.max_dev)
    throw Error(ErrorCode::internal, "md 1.2 superblock has " + std::to_string(sb.roles.size()) +
                                         " roles for max_dev " + std::to_string(sb.max_dev));
  if (sb.name.size() > 31 || sb.name.find('\0') != std::string::npos)
    throw_validation("md array name '" + sb.name + "' is longer than 31 bytes or holds a NUL");
  size_t used = sb1_bytes(sb.max_dev);
  std::vector<uint8_t> out((used + 511) / 512 * 512, 0);
  // Keep what we do not model (reshape fields, ppl, cnt_corrected_read) from the parsed bytes.
  if (!sb.raw.empty())
    std::memcpy(out.data(), sb.raw.data(), std::min(sb.raw.size(), std::min<size_t>(used, 256)));
  disk::Super1 d;
  std::memcpy(&d, out.data(), sizeof d);
  d.magic = disk::kMagic;
  d.major_version = 1;
  d.feature_map =
      sb.has_bitmap ? (sb.feature_map | kFeatureBitmap) : (sb.feature_map & ~kFeatureBitmap);
  d.pad0 = 0;
  std::memcpy(d.set_uuid, sb.array_uuid.data(), 16);
  std::memset(d.set_name, 0, sizeof d.set_name);
  std::memcpy(d.set_name, sb.name.data(), sb.name.size());
  d.ctime = (d.ctime.get() & ~kTimeMask) | (sb.ctime & kTimeMask);
  d.level = static_cast<uint32_t>(sb.level);
  d.layout = sb.layout;
  d.size = sb.component_sectors;
  d.raid_disks = sb.raid_disks;
  d.bitmap_offset = sb.has_bitmap
                        ? static_cast<uint32_t>(static_cast<int32_t>(sb.bitmap_offset_sectors))
                        : d.bitmap_offset.get();
  d.data_offset = sb.data_offset_sectors;
  d.data_size = sb.data_size_sectors;
  d.super_offset = sb.superblock_offset / 512;
  d.recovery_offset = sb.recovery_offset;
  d.dev_number = sb.dev_number;
  std::memcpy(d.device_uuid, sb.device_uuid.data(), 16);
  d.devflags = sb.devflags;
  d.bblog_shift = sb.bblog_shift;
  d.bblog_size = sb.bblog_size;
  d.bblog_offset = static_cast<uint32_t>(sb.bblog_offset);
  d.utime = (d.utime.get() & ~kTimeMask) | (sb.utime & kTimeMask);
  d.events = sb.events;
  d.resync_offset = sb.resync_offset;
  d.max_dev = sb.max_dev;
  std::memset(d.pad3, 0, sizeof d.pad3);
  d.sb_csum = 0;
  std::memcpy(out.data(), &d, sizeof d);
  for (uint32_t i = 0; i < sb.max_dev; ++i)
    store_le16(out.data() + 256 + 2 * i, i < sb.roles.size() ? sb.roles[i] : kRoleSpare);
  store_le32(out.data() + offsetof(disk::Super1, sb_csum), checksum_1(out));
  return out;
}

}  // namespace detail
}  // namespace mos::mdraid
