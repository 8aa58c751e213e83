// Builds a new RAID1 member's superblock from the spec and geometry, dispatches parse and
// serialize by version, reads a member's metadata, and plans the writes for one member.
#include "mdraid/superblock.hpp"

#include <algorithm>
#include <string>

#include "base/bytes.hpp"
#include "base/error.hpp"
#include "mdraid/md_structs.hpp"
#include "mdraid/super_internal.hpp"

namespace mos::mdraid {

namespace detail {

uint32_t folded_word_sum(std::span<const uint8_t> bytes, size_t len, size_t skip) {
  len = std::min(len, bytes.size());
  uint64_t sum = 0;
  size_t i = 0;
  for (; i + 4 <= len; i += 4)
    if (i != skip) sum += load_le32(bytes.data() + i);
  if (len - i == 2) sum += load_le16(bytes.data() + i);
  return static_cast<uint32_t>((sum & 0xffffffff) + (sum >> 32));
}

Superblock common_fields(const ArraySpec& spec) {
  Superblock sb;
  sb.metadata = spec.metadata;
  sb.array_uuid = spec.uuid;
  sb.level = 1;
  sb.raid_disks = spec.raid_disks;
  sb.ctime = sb.utime = spec.ctime;
  sb.events = spec.events;
  sb.clean = spec.clean;
  sb.checksum_ok = true;
  return sb;
}

void bad_superblock(const char* version, const std::string& what) {
  throw_validation(std::string("md ") + version + " superblock: " + what);
}

std::vector<uint32_t> dev_numbers(const ArraySpec& spec, std::span<const MemberSpec> members) {
  std::vector<uint32_t> numbers;
  uint32_t next_spare = spec.raid_disks;
  for (const auto& m : members) numbers.push_back(m.role ? *m.role : next_spare++);
  return numbers;
}

void check_spec(const ArraySpec& spec, const Geometry& g, std::span<const MemberSpec> members,
                size_t index) {
  uint32_t max_disks = spec.metadata == Metadata::v0_90 ? disk::kDisks090 : 256;
  if (spec.raid_disks == 0 || spec.raid_disks > max_disks)
    throw_validation("raid_disks " + std::to_string(spec.raid_disks) + " is out of range (1.." +
                     std::to_string(max_disks) + " for metadata " +
                     std::string(metadata_text(spec.metadata)) + ")");
  if (members.size() > max_disks)
    throw_validation("too many md members: " + std::to_string(members.size()));
  if (index >= members.size())
    throw Error(ErrorCode::internal, "md member index " + std::to_string(index) + " out of range");
  if (g.metadata != spec.metadata || g.data_size_sectors.size() != members.size() ||
      g.superblock_offsets.size() != members.size())
    throw Error(ErrorCode::internal, "md geometry was planned for other members");
  if (spec.metadata == Metadata::v1_2 &&
      (spec.name.size() > 31 || spec.name.find('\0') != std::string::npos))
    throw_validation("md array name '" + spec.name + "' must be at most 31 bytes");
  std::vector<bool> taken(spec.raid_disks, false);
  size_t active = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (!members[i].role) continue;
    uint32_t r = *members[i].role;
    if (r >= spec.raid_disks)
      throw_validation("md member " + std::to_string(i) + " has role " + std::to_string(r) +
                       " but the array has " + std::to_string(spec.raid_disks) + " slots");
    if (taken[r]) throw_validation("md slot " + std::to_string(r) + " is given to two members");
    taken[r] = true;
    ++active;
  }
  if (active == 0)
    throw_validation("an md array needs at least one active member (all are spares)");
  uint32_t spares = static_cast<uint32_t>(members.size() - active);
  if (spec.metadata == Metadata::v0_90 && spec.raid_disks + spares > disk::kDisks090)
    throw_validation("md metadata 0.90 holds at most 27 devices");
}

}  // namespace detail

namespace {

constexpr uint32_t kFeatureRecoveryOffset = 2, kFeatureBadBlocks = 8, kFeatureReplacement = 16;

using detail::check_spec;
using detail::dev_numbers;

Superblock build_super1(const ArraySpec& spec, const Geometry& g,
                        std::span<const MemberSpec> members, size_t index) {
  auto numbers = dev_numbers(spec, members);
  Superblock sb = detail::common_fields(spec);
  // init_super1: room for raid_disks + spares roles, rounded up to a 512-byte superblock;
  // add_to_super1 grows it when a dev number does not fit.
  size_t spares = static_cast<size_t>(
      std::count_if(members.begin(), members.end(), [](const MemberSpec& m) { return !m.role; }));
  size_t sb_bytes = (256 + 2 * (spec.raid_disks + spares) + 511) / 512 * 512;
  uint32_t max_dev = static_cast<uint32_t>((sb_bytes - 256) / 2);
  for (uint32_t n : numbers) max_dev = std::max(max_dev, n + 1);
  sb.max_dev = max_dev;
  sb.roles.assign(max_dev, kRoleSpare);
  for (size_t i = 0; i < members.size(); ++i)
    sb.roles[numbers[i]] = members[i].role ? static_cast<uint16_t>(*members[i].role) : kRoleSpare;
  sb.name = spec.name;
  sb.resync_offset = spec.clean ? kResyncDone : 0;
  sb.dev_number = numbers[index];
  sb.role = sb.roles[sb.dev_number];
  sb.device_uuid = members[index].device_uuid;
  sb.superblock_offset = g.superblock_offsets[index];
  sb.data_offset_sectors = g.data_offset_sectors;
  sb.data_size_sectors = g.data_size_sectors[index];
  sb.component_sectors = g.component_sectors;
  sb.bblog_size = g.bblog_size_sectors;
  sb.bblog_offset = static_cast<int32_t>(g.bblog_offset_sectors);
  sb.has_bitmap = g.bitmap.has_value();
  sb.bitmap_offset_sectors = g.bitmap ? g.bitmap->offset_sectors : 0;
  sb.feature_map = sb.has_bitmap ? 1 : 0;
  if (g.bitmap) sb.bitmap = build_bitmap_info(spec, *g.bitmap);
  return sb;
}

Superblock build_super090(const ArraySpec& spec, const Geometry& g,
                          std::span<const MemberSpec> members, size_t index) {
  auto numbers = dev_numbers(spec, members);
  Superblock sb = detail::common_fields(spec);
  sb.md_minor = spec.md_minor;
  sb.disks.assign(disk::kDisks090, Disk090{});
  // Slots no member takes are written as the kernel writes a missing disk: faulty, removed.
  for (uint32_t slot = 0; slot < spec.raid_disks; ++slot)
    sb.disks[slot] = {slot, 0, 0, slot, kDiskFaulty | kDiskRemoved};
  uint32_t active = 0, spares = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& m = members[i];
    uint32_t n = numbers[i];
    sb.disks[n] = {n, m.major, m.minor, n, m.role ? (kDiskActive | kDiskSync) : 0u};
    m.role ? ++active : ++spares;
  }
  uint32_t missing = spec.raid_disks - active;
  sb.active_disks = active;
  sb.working_disks = active + spares;
  sb.failed_disks = missing;
  sb.spare_disks = spares;
  sb.nr_disks = active + spares + missing;
  sb.this_disk = sb.disks[numbers[index]];
  sb.dev_number = numbers[index];
  for (const auto& d : sb.disks)
    sb.roles.push_back(d.state & (kDiskFaulty | kDiskRemoved) ? kRoleFaulty
                       : d.state                              ? static_cast<uint16_t>(d.raid_disk)
                                                              : kRoleSpare);
  sb.role = members[index].role ? static_cast<uint16_t>(*members[index].role) : kRoleSpare;
  sb.superblock_offset = g.superblock_offsets[index];
  sb.data_size_sectors = g.data_size_sectors[index];
  sb.component_sectors = g.component_sectors;
  sb.has_bitmap = g.bitmap.has_value();
  sb.bitmap_offset_sectors = g.bitmap ? 8 : 0;
  if (g.bitmap) sb.bitmap = build_bitmap_info(spec, *g.bitmap);
  return sb;
}

// Where md superblocks of every version would sit on a device of this size (bytes, 4 KiB each).
std::vector<std::pair<uint64_t, std::string>> md_signature_places(uint64_t size) {
  std::vector<std::pair<uint64_t, std::string>> places;
  if (size >= 2 * disk::kReserved090)
    places.push_back(
        {(size & ~(disk::kReserved090 - 1)) - disk::kReserved090, "md 0.90 superblock"});
  if (size >= 3 * 4096)
    places.push_back({((size / 512 - 16) & ~uint64_t{7}) * 512, "md 1.0 superblock"});
  places.push_back({0, "md 1.1 superblock"});
  if (size >= 2 * 4096) places.push_back({4096, "md 1.2 superblock"});
  return places;
}

// Fills sb.bitmap from the device when the superblock announces one. A broken bitmap leaves
// it empty while has_bitmap stays set: the engine reports that.
void read_bitmap(const ReadAt& fd, Superblock& sb) {
  if (!sb.has_bitmap) return;
  int64_t at = static_cast<int64_t>(sb.superblock_offset) + sb.bitmap_offset_sectors * 512;
  std::vector<uint8_t> bm(256);
  if (at < 0 || fd.pread_some(bm.data(), bm.size(), static_cast<uint64_t>(at)) != bm.size()) return;
  try {
    sb.bitmap = parse_bitmap(bm);
  } catch (const Error&) {
  }
}

}  // namespace

Superblock build_superblock(const ArraySpec& spec, const Geometry& g,
                            std::span<const MemberSpec> members, size_t index) {
  check_spec(spec, g, members, index);
  Superblock sb = spec.metadata == Metadata::v1_2 ? build_super1(spec, g, members, index)
                                                  : build_super090(spec, g, members, index);
  sb.raw = serialize(sb);
  return sb;
}

Superblock parse_superblock(Metadata metadata, std::span<const uint8_t> bytes,
                            uint64_t device_size) {
  superblock_offset(metadata, device_size);  // throws for a device too small to hold one
  return metadata == Metadata::v1_2 ? detail::parse_super1(bytes, device_size)
                                    : detail::parse_super090(bytes, device_size);
}

std::vector<uint8_t> serialize(const Superblock& sb) {
  return sb.metadata == Metadata::v1_2 ? detail::serialize_super1(sb)
                                       : detail::serialize_super090(sb);
}

std::optional<Superblock> read_superblock(const ReadAt& fd, uint64_t device_size) {
  // Same order as the prober (libblkid): 0.90 at the end first, then 1.2. A magic whose
  // superblock does not parse does not hide a valid one of the other version; with none
  // valid, the first error is thrown.
  std::optional<Error> first_error;
  for (Metadata m : {Metadata::v0_90, Metadata::v1_2}) {
    if (device_size < (m == Metadata::v0_90 ? 2 * disk::kReserved090 : 2 * 4096)) continue;
    uint64_t off = superblock_offset(m, device_size);
    std::vector<uint8_t> buf(kSuperblockReadBytes);
    if (fd.pread_some(buf.data(), buf.size(), off) != buf.size()) continue;
    if (load_le32(buf.data()) != disk::kMagic) continue;
    if (m == Metadata::v1_2 && load_le32(buf.data() + 4) != 1) continue;
    try {
      Superblock sb = parse_superblock(m, buf, device_size);
      read_bitmap(fd, sb);
      return sb;
    } catch (const Error& e) {
      if (!first_error) first_error = Error(e.code(), e.what(), fd.path());
    }
  }
  if (first_error) throw *first_error;
  return std::nullopt;
}

mos::WritePlan plan_member(const ArraySpec& spec, const Geometry& g,
                          std::span<const MemberSpec> members, size_t index) {
  return plan_superblock(build_superblock(spec, g, members, index), members[index].size_bytes);
}

mos::WritePlan plan_superblock(const Superblock& sb, uint64_t device_size) {
  const std::string version(metadata_text(sb.metadata));
  if (sb.superblock_offset != superblock_offset(sb.metadata, device_size))
    throw_validation("md " + version + " superblock belongs at byte " +
                     std::to_string(superblock_offset(sb.metadata, device_size)) +
                     " on a device of " + std::to_string(device_size) + " bytes, not at " +
                     std::to_string(sb.superblock_offset));
  if ((sb.data_offset_sectors + sb.component_sectors) * 512 > device_size)
    throw_validation("md member of " + std::to_string(device_size) +
                     " bytes is too small for the array's data area");
  if (sb.has_bitmap && !sb.bitmap)
    throw_validation("md superblock announces a bitmap whose superblock was not read");
  mos::WritePlan plan;
  plan.name = "mdraid";
  auto& clear = plan.step("clear-stale-md");
  for (auto& [off, what] : md_signature_places(device_size))
    if (off != sb.superblock_offset) clear.zeroes.push_back({off, 4096, "stale " + what});
  auto& write = plan.step("superblock");
  std::vector<uint8_t> bytes = serialize(sb);
  bytes.resize(4096, 0);  // a whole 4 KiB block: sector-size independent, the rest of it is ours
  write.writes.push_back({sb.superblock_offset, std::move(bytes), "md " + version + " superblock"});
  if (sb.has_bitmap) {
    BitmapGeometry bg;
    bg.offset_sectors = sb.bitmap_offset_sectors;
    bg.chunk_bytes = sb.bitmap->chunk_bytes;
    bg.sync_size_sectors = sb.bitmap->sync_size_sectors;
    bg.daemon_sleep = sb.bitmap->daemon_sleep;
    bg.space_bytes = detail::bitmap_space_bytes(sb.metadata, bg.bits());
    int64_t at = static_cast<int64_t>(sb.superblock_offset) + bg.offset_sectors * 512;
    if (at < 0 || static_cast<uint64_t>(at) + bg.space_bytes > device_size)
      throw_validation("md bitmap would lie outside the device");
    write.writes.push_back(
        {static_cast<uint64_t>(at), bitmap_area(bg, *sb.bitmap), "md internal bitmap (all dirty)"});
  }
  if (sb.metadata == Metadata::v1_2 && sb.bblog_size && sb.bblog_offset > 0) {
    // An empty bad-block log: entries are all-ones terminated (the feature bit stays clear).
    uint64_t at = sb.superblock_offset + static_cast<uint64_t>(sb.bblog_offset) * 512;
    write.writes.push_back(
        {at, std::vector<uint8_t>(size_t{sb.bblog_size} * 512, 0xff), "md bad-block log"});
  }
  return plan;
}

Superblock bump_events(const Superblock& sb, uint64_t utime) {
  Superblock out = sb;
  out.events = sb.events + 1;
  out.utime = utime;
  out.raw = serialize(out);
  out.checksum_ok = true;
  return out;
}

Superblock superblock_for_new_member(const Superblock& live, const MemberSpec& member,
                                     uint32_t dev_number, uint64_t utime) {
  Superblock sb = live;
  sb.utime = utime;
  sb.dev_number = dev_number;
  uint16_t role = member.role ? static_cast<uint16_t>(*member.role) : kRoleSpare;
  if (member.role && *member.role >= live.raid_disks)
    throw_validation("new md member role " + std::to_string(*member.role) + " exceeds raid_disks " +
                     std::to_string(live.raid_disks));
  sb.role = role;
  sb.superblock_offset = superblock_offset(live.metadata, member.size_bytes);
  if (live.metadata == Metadata::v1_2) {
    if (dev_number >= disk::kMaxDev1)
      throw_validation("md 1.2 dev number " + std::to_string(dev_number) + " is too large");
    if (dev_number >= sb.max_dev) sb.max_dev = dev_number + 1;
    sb.roles.resize(sb.max_dev, kRoleSpare);
    sb.roles[dev_number] = role;
    uint64_t sectors = member.size_bytes / 512;
    if (sectors < live.data_offset_sectors + live.component_sectors)
      throw_validation("new md member (" + std::to_string(member.size_bytes) +
                       " bytes) is smaller than the array needs (" +
                       std::to_string((live.data_offset_sectors + live.component_sectors) * 512) +
                       ")");
    sb.data_size_sectors = sectors - live.data_offset_sectors;
    sb.device_uuid = member.device_uuid;
    sb.recovery_offset = 0;
    sb.devflags = 0;
    // A fresh disk: no bad blocks, not mid-recovery, not a replacement (the kernel sets those).
    sb.feature_map &= ~(kFeatureRecoveryOffset | kFeatureBadBlocks | kFeatureReplacement);
  } else {
    if (dev_number >= static_cast<uint32_t>(disk::kDisks090))
      throw_validation("md 0.90 dev number " + std::to_string(dev_number) + " exceeds 26");
    if (sb.superblock_offset < live.component_sectors * 512)
      throw_validation("new md member (" + std::to_string(member.size_bytes) +
                       " bytes) is smaller than the array needs");
    sb.data_size_sectors = sb.superblock_offset / 512;
    sb.disks.resize(disk::kDisks090);
    uint32_t raid_disk = member.role ? *member.role : dev_number;
    sb.disks[dev_number] = {dev_number, member.major, member.minor, raid_disk,
                            member.role ? (kDiskActive | kDiskSync) : 0u};
    sb.this_disk = sb.disks[dev_number];
    sb.roles.resize(disk::kDisks090, kRoleSpare);
    sb.roles[dev_number] = role;
  }
  sb.raw = serialize(sb);
  sb.checksum_ok = true;
  return sb;
}

}  // namespace mos::mdraid
