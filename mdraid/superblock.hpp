// Linux md RAID1 member metadata, v0.90 and v1.2: plan the geometry of a new array, build,
// serialize and parse member superblocks (and the optional internal write-intent bitmap).
// Pure format code: it builds bytes and WritePlans, the engine decides what to write where.
// Layout facts: linux/raid/md_p.h (kernel UAPI) and mdadm 4.2's super0.c/super1.c defaults.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/read_at.hpp"
#include "base/write_plan.hpp"

namespace mos::mdraid {

// Array and device UUIDs in the byte order mdadm and blkid print them (v0.90 stores these as
// four host-endian 32-bit words; v1.2 stores the bytes as they are).
using Uuid = std::array<uint8_t, 16>;

enum class Metadata { v0_90, v1_2 };
std::string_view metadata_text(Metadata m);  // "0.90" / "1.2"
// "0.90", "0.9", "1.2"; anything else throws a validation error naming the value.
Metadata parse_metadata(std::string_view text);

// v1.2 dev_roles values that are not slots.
inline constexpr uint16_t kRoleSpare = 0xffff;
inline constexpr uint16_t kRoleFaulty = 0xfffe;
inline constexpr uint16_t kRoleJournal = 0xfffd;
inline constexpr uint16_t kRoleMax = 0xff00;  // roles below this are array slots
// resync_offset meaning "in sync" (MaxSector).
inline constexpr uint64_t kResyncDone = ~uint64_t{0};

// v0.90 per-disk descriptor state bits (mdp_disk_t.state).
inline constexpr uint32_t kDiskFaulty = 1u << 0;
inline constexpr uint32_t kDiskActive = 1u << 1;
inline constexpr uint32_t kDiskSync = 1u << 2;
inline constexpr uint32_t kDiskRemoved = 1u << 3;

// What the caller wants: one RAID1 array.
struct ArraySpec {
  Metadata metadata = Metadata::v1_2;
  Uuid uuid{};
  std::string name;            // v1.2 set_name, written as given (max 31 bytes); 0.90 has none
  uint32_t raid_disks = 2;     // slots; slots no member takes are "missing" (degraded)
  uint64_t ctime = 0;          // seconds since the epoch; also the first utime
  bool clean = false;          // true: no initial resync (assume-clean); false: kernel resyncs
  std::optional<bool> bitmap;  // internal write-intent bitmap; nullopt = mdadm's default
  uint32_t md_minor = 0;       // v0.90 preferred minor (mdadm writes the md device's minor)
  uint64_t events = 0;         // written as given (mdadm writes 0 for v1.2, 1 for v0.90)
};

// One present member (missing slots are simply not listed).
struct MemberSpec {
  uint64_t size_bytes = 0;             // whole member device
  uint32_t logical_sector_size = 512;  // 512 or 4096
  std::optional<uint32_t> role;        // slot 0..raid_disks-1; nullopt = spare
  Uuid device_uuid{};                  // v1.2 device_uuid (UUID_SUB)
  uint32_t major = 0, minor = 0;       // v0.90 descriptor device numbers
};

struct BitmapGeometry {
  int64_t offset_sectors = 0;      // from the superblock start (v1.2 bitmap_offset; v0.90: 8)
  uint64_t space_bytes = 0;        // bytes the bitmap area occupies on each member
  uint32_t chunk_bytes = 0;        // bytes of array data per bit
  uint64_t sync_size_sectors = 0;  // component size the bits cover
  uint32_t daemon_sleep = 5;       // seconds (mdadm default)
  uint64_t bits() const;           // ceil(sync_size * 512 / chunk)
};

struct Geometry {
  Metadata metadata = Metadata::v1_2;
  uint64_t data_offset_sectors = 0;          // v1.2: same on every member; v0.90: 0
  uint64_t component_sectors = 0;            // "size": sectors of each member used by the array
  uint64_t array_size_bytes = 0;             // RAID1: component size
  std::vector<uint64_t> data_size_sectors;   // per member: room for data (mdadm "Avail Dev Size")
  std::vector<uint64_t> superblock_offsets;  // per member, bytes from the member start
  uint64_t bblog_offset_sectors = 0;         // v1.2 bad-block log, from the superblock
  uint16_t bblog_size_sectors = 0;
  std::optional<BitmapGeometry> bitmap;
};

// Member sizes in bytes, in member order. Throws a validation error when a member is too small
// (names which one and how small) or the bitmap cannot fit.
Geometry plan_geometry(Metadata metadata, std::span<const uint64_t> member_size_bytes,
                       std::optional<bool> bitmap = std::nullopt);
Geometry plan_geometry(const ArraySpec& spec, std::span<const MemberSpec> members);

// Byte offset of the superblock on a member of this size (v0.90: last 64 KiB-aligned 64 KiB;
// v1.2: 4 KiB). Throws a validation error when the device is too small to hold one.
uint64_t superblock_offset(Metadata metadata, uint64_t device_size_bytes);

// v0.90 device descriptor (disks[] entries and this_disk).
struct Disk090 {
  uint32_t number = 0, major = 0, minor = 0, raid_disk = 0, state = 0;
  bool operator==(const Disk090&) const = default;
};

// Bitmap superblock (bitmap_super_t), little-endian for both metadata versions.
struct BitmapInfo {
  uint32_t version = 4;  // BITMAP_MAJOR_HI
  Uuid uuid{};           // raw bytes as stored (v0.90: the host-endian uuid words)
  uint64_t events = 0, events_cleared = 0, sync_size_sectors = 0;
  uint32_t state = 0, chunk_bytes = 0, daemon_sleep = 0, write_behind = 0;
  uint32_t sectors_reserved = 0, nodes = 0;
  bool operator==(const BitmapInfo&) const = default;
};

// The parsed common view of one member's superblock.
struct Superblock {
  Metadata metadata = Metadata::v1_2;
  Uuid array_uuid{};
  std::string name;  // v1.2 set_name; "" for v0.90
  int32_t level = 1;
  uint32_t layout = 0;
  uint32_t raid_disks = 0;
  uint64_t ctime = 0, utime = 0;  // seconds
  uint64_t events = 0;
  bool clean = false;              // v0.90: state bit 0; v1.2: resync_offset == kResyncDone
  uint64_t resync_offset = 0;      // v1.2 resync_offset; v0.90 recovery_cp
  uint32_t feature_map = 0;        // v1.2
  uint32_t dev_number = 0;         // v1.2 dev_number; v0.90 this_disk.number
  uint16_t role = kRoleSpare;      // this member: slot, kRoleSpare or kRoleFaulty
  Uuid device_uuid{};              // v1.2 only
  uint8_t devflags = 0;            // v1.2
  uint64_t superblock_offset = 0;  // bytes from the member start
  uint64_t data_offset_sectors = 0;
  uint64_t data_size_sectors = 0;  // v1.2 data_size; v0.90 = superblock offset / 512
  uint64_t component_sectors = 0;  // v1.2 size; v0.90 size (KiB) * 2
  uint64_t recovery_offset = 0;    // v1.2
  uint8_t bblog_shift = 0;         // v1.2 bad-block log
  uint16_t bblog_size = 0;
  int32_t bblog_offset = 0;
  uint32_t max_dev = 0;         // v1.2
  std::vector<uint16_t> roles;  // indexed by dev number: v1.2 dev_roles; v0.90 derived
  // v0.90 only
  uint32_t md_minor = 0;
  uint32_t state = 0;  // superblock state bits
  uint32_t nr_disks = 0, active_disks = 0, working_disks = 0, failed_disks = 0, spare_disks = 0;
  std::vector<Disk090> disks;  // 27 descriptors
  Disk090 this_disk;
  // bitmap
  bool has_bitmap = false;            // v1.2 feature bit 0 / v0.90 state bit 8
  int64_t bitmap_offset_sectors = 0;  // from the superblock (v0.90: 8)
  std::optional<BitmapInfo> bitmap;   // filled by read_superblock or parse_bitmap
  bool checksum_ok = false;
  std::vector<uint8_t> raw;  // bytes parsed (serialize keeps fields we do not model)

  uint64_t array_size_bytes() const { return component_sectors * 512; }  // RAID1
  bool is_active_member() const { return role < kRoleMax; }
};

// Bytes to read at superblock_offset for parse_superblock (4096 for both versions).
inline constexpr size_t kSuperblockReadBytes = 4096;

// Parses a superblock read at superblock_offset(metadata, device_size). Throws a validation
// error saying what is wrong for a wrong magic/version, a truncated buffer, or fields that
// contradict the device (offsets or sizes beyond it, absurd raid_disks/max_dev). A checksum
// mismatch is not thrown: checksum_ok is false and the engine decides.
Superblock parse_superblock(Metadata metadata, std::span<const uint8_t> bytes,
                            uint64_t device_size_bytes);
// The bitmap superblock at the start of the bitmap area; throws on a wrong magic or size.
BitmapInfo parse_bitmap(std::span<const uint8_t> bytes);

// Reads and parses whichever md superblock the member carries (v1.2 first, then v0.90);
// nullopt when neither magic is present. Fills bitmap when the superblock announces one.
std::optional<Superblock> read_superblock(const ReadAt& fd, uint64_t device_size_bytes);

// The superblock for member `index` of a new array (what plan_member writes).
Superblock build_superblock(const ArraySpec& spec, const Geometry& geometry,
                            std::span<const MemberSpec> members, size_t index);
// Superblock bytes with a recomputed checksum (v0.90: 4096; v1.2: 256 + 2*max_dev rounded up
// to 512, and at least one logical sector when written by plan_member). Fields not modelled
// are kept from sb.raw when present.
std::vector<uint8_t> serialize(const Superblock& sb);
// The whole bitmap area: the bitmap superblock followed by all-ones bits ("dirty"), as mdadm
// writes it for a new array.
std::vector<uint8_t> bitmap_area(const BitmapGeometry& geometry, const BitmapInfo& info);
BitmapInfo build_bitmap_info(const ArraySpec& spec, const BitmapGeometry& geometry);

// Checksums as the kernel computes them (sb_csum field zeroed): v0.90 over 4096 bytes,
// v1.2 over 256 + 2*max_dev bytes.
uint32_t checksum_090(std::span<const uint8_t> sb4096);
uint32_t checksum_1(std::span<const uint8_t> sb);

// Writes member `index`: zeroes where a stale md superblock of the other versions could sit
// (v0.90 end area, v1.0 end, v1.1 start, v1.2 4 KiB) so a prober sees exactly one md
// signature, then the superblock, the bitmap (if any), and the bad-block log area.
mos::WritePlan plan_member(const ArraySpec& spec, const Geometry& geometry,
                          std::span<const MemberSpec> members, size_t index);

// Writes an existing superblock (e.g. from superblock_for_new_member or bump_events) to a
// member of device_size bytes, like plan_member: stale md places cleared, then the superblock,
// its bitmap (all dirty: a new member is rebuilt in full) and an empty bad-block log.
// sb.bitmap must be filled when sb.has_bitmap (read_superblock does that).
mos::WritePlan plan_superblock(const Superblock& sb, uint64_t device_size_bytes);

// Updates for assemble/add/fail: a copy of sb with events+1 and utime; and the superblock of
// a new member (spare or replacement for `role`) built from a live member's superblock.
Superblock bump_events(const Superblock& sb, uint64_t utime);
Superblock superblock_for_new_member(const Superblock& live, const MemberSpec& member,
                                     uint32_t dev_number, uint64_t utime);

// "xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx" as mdadm prints UUIDs (blkid's form: mos::uuid_text).
std::string mdadm_uuid_text(const Uuid& uuid);
// Parses either text form; nullopt if malformed.
std::optional<Uuid> parse_uuid(std::string_view text);
// Version-4 random UUID (libuuid).

}  // namespace mos::mdraid
