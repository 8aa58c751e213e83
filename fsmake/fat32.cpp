// FAT32 writer: Microsoft default geometry, boot sectors, FSInfo, FAT heads, root directory.
#include "fsmake/fat32.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "fsmake/fat32_disk.hpp"
#include "fsmake/label.hpp"
#include "base/text.hpp"
#include "base/error.hpp"

namespace mos::fsmake::fat32 {
namespace {

constexpr uint32_t kReservedSectors = 32;
constexpr uint32_t kFatCount = 2;
constexpr uint8_t kMediaFixedDisk = 0xF8;
constexpr uint32_t kFsInfoSector = 1;
constexpr uint32_t kBackupBootSector = 6;
constexpr uint32_t kRootCluster = 2;
constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;

uint64_t div_ceil(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Microsoft's FAT32 default cluster size (fatgen103, DskTableFAT32), by volume size in bytes.
uint32_t default_cluster_bytes(uint64_t volume_bytes) {
  if (volume_bytes <= 260 * kMiB) return 512;
  if (volume_bytes <= 8 * kGiB) return 4096;
  if (volume_bytes <= 16 * kGiB) return 8192;
  if (volume_bytes <= 32 * kGiB) return 16384;
  return 32768;
}

struct Chs { uint16_t sectors_per_track, heads; };

// The CHS fiction mkfs.vfat records when the device reports no geometry (loop devices, files):
// SD-card recommendation below 256 MiB-in-sectors, BIOS LBA-assist translation above.
Chs default_chs(uint64_t sectors) {
  if (sectors <= 524288) {
    uint16_t heads = sectors <= 32768 ? 2 : sectors <= 65536 ? 4 : sectors <= 262144 ? 8 : 16;
    return {static_cast<uint16_t>(sectors <= 4096 ? 16 : 32), heads};
  }
  uint64_t t = 63 * 1024;
  uint16_t heads = sectors <= 16 * t ? 16 : sectors <= 32 * t ? 32 : sectors <= 64 * t ? 64
                 : sectors <= 128 * t ? 128 : 255;
  return {63, heads};
}

// Geometry for a device of device_sectors sectors; cluster_count 0 when nothing fits.
Layout layout_for(uint64_t device_sectors, uint32_t ss) {
  Layout l;
  l.sector_size = ss;
  l.reserved_sectors = kReservedSectors;
  l.fat_count = kFatCount;
  Chs chs = default_chs(device_sectors);
  l.sectors_per_track = chs.sectors_per_track;
  l.heads = chs.heads;
  l.sectors_per_cluster = std::max(default_cluster_bytes(device_sectors * ss), ss) / ss;
  uint64_t total = device_sectors / chs.sectors_per_track * chs.sectors_per_track;
  l.total_sectors = static_cast<uint32_t>(std::min<uint64_t>(total, UINT32_MAX));
  if (total <= kReservedSectors) return l;

  // Smallest FAT that maps every cluster left after it, with the data area aligned to a
  // cluster: FAT sizes allowed are r + k*m so that reserved + 2*FAT is a multiple of spc.
  const uint64_t spc = l.sectors_per_cluster, avail = total - kReservedSectors;
  const uint64_t m = spc >= 2 ? spc / 2 : 1;
  const uint64_t r = spc >= 2 ? ((spc - kReservedSectors % spc) % spc) / 2 : 0;
  auto fits = [&](uint64_t fat) {
    if (fat == 0 || kFatCount * fat >= avail) return false;
    uint64_t clusters = (avail - kFatCount * fat) / spc;
    return clusters > 0 && div_ceil((clusters + 2) * 4, ss) <= fat;
  };
  uint64_t hi = div_ceil(r + div_ceil((avail / spc + 2) * 4, ss), m) + 1;
  if (!fits(r + hi * m)) return l;
  uint64_t lo = 0;  // invariant: fits(r + hi*m); search the smallest k that fits
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (fits(r + mid * m)) hi = mid; else lo = mid + 1;
  }
  uint64_t fat = r + hi * m;
  l.fat_sectors = static_cast<uint32_t>(fat);
  l.cluster_count = static_cast<uint32_t>(std::min<uint64_t>((avail - kFatCount * fat) / spc, UINT32_MAX));
  return l;
}

std::string at_sectors(uint32_t ss) { return " at " + std::to_string(ss) + "-byte sectors"; }

[[noreturn]] void throw_too_small(uint64_t size, uint32_t ss) {
  uint64_t lo = 1, hi = 260 * kMiB / ss;  // below 260 MiB the cluster is one sector
  while (lo < hi) {
    uint64_t mid = (lo + hi) / 2;
    if (layout_for(mid, ss).cluster_count >= kMinClusters) hi = mid; else lo = mid + 1;
  }
  throw_validation("FAT32 needs at least " + std::to_string(kMinClusters) +
                   " clusters (fewer make it FAT12/16): the smallest FAT32 volume" + at_sectors(ss) +
                   " needs a device of " + mos::bytes_text(lo * ss) + ", this one has " +
                   mos::bytes_text(size));
}

// Largest device (in sectors) whose 32 KiB-cluster layout stays within the FAT32 limits.
uint64_t max_device_sectors(uint32_t ss) {
  uint64_t lo = 32 * kGiB / ss, hi = UINT32_MAX;
  if (layout_for(hi, ss).cluster_count <= kMaxClusters) return hi;
  while (lo < hi) {  // invariant: cluster_count(lo) <= max < cluster_count(hi+1)
    uint64_t mid = lo + (hi - lo + 1) / 2;
    if (layout_for(mid, ss).cluster_count <= kMaxClusters) lo = mid; else hi = mid - 1;
  }
  return lo;
}

[[noreturn]] void throw_too_large(uint64_t size, uint32_t ss) {
  uint64_t max_sectors = max_device_sectors(ss);
  std::string why = max_sectors == UINT32_MAX
      ? "FAT32 counts sectors in 32 bits"
      : "FAT32 holds at most " + std::to_string(kMaxClusters) + " clusters of 32 KiB";
  throw_validation(why + ": the largest FAT32 device" + at_sectors(ss) + " is " +
                   mos::bytes_text(max_sectors * ss) + ", this one has " +
                   mos::bytes_text(size) + " (use a partition of at most that size)");
}

// DOS date and time (UTC; FAT has no time zone) for the label entry.
void dos_now(uint16_t& date, uint16_t& time_of_day) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  int year = std::clamp(tm.tm_year + 1900, 1980, 2107);
  date = static_cast<uint16_t>(((year - 1980) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  time_of_day = static_cast<uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
}

std::string padded_label(const std::string& label) {
  std::string s = label.empty() ? "NO NAME" : label;
  s.resize(11, ' ');
  return s;
}

std::vector<uint8_t> boot_sector_bytes(const Layout& l, const Fat32Options& o, uint32_t volume_id) {
  std::vector<uint8_t> sector(l.sector_size, 0);
  BootSector b{};
  // Jump over the BPB to a stub that asks the BIOS for the next boot device (int 18h) and
  // halts: this volume is not bootable.
  b.jump[0] = 0xEB; b.jump[1] = offsetof(BootSector, boot_code) - 2; b.jump[2] = 0x90;
  std::memcpy(b.oem_name, "MSWIN4.1", 8);  // fatgen103: the most compatible OEM name
  b.bytes_per_sector = static_cast<uint16_t>(l.sector_size);
  b.sectors_per_cluster = static_cast<uint8_t>(l.sectors_per_cluster);
  b.reserved_sectors = static_cast<uint16_t>(l.reserved_sectors);
  b.fat_count = static_cast<uint8_t>(l.fat_count);
  b.media = kMediaFixedDisk;
  b.sectors_per_track = l.sectors_per_track;
  b.heads = l.heads;
  b.hidden_sectors = o.hidden_sectors;
  b.total_sectors32 = l.total_sectors;
  b.fat_size32 = l.fat_sectors;
  b.root_cluster = kRootCluster;
  b.fsinfo_sector = kFsInfoSector;
  b.backup_boot_sector = kBackupBootSector;
  b.drive_number = 0x80;
  b.boot_signature = 0x29;
  b.volume_id = volume_id;
  std::memcpy(b.volume_label, padded_label(o.label).data(), 11);
  std::memcpy(b.fs_type, "FAT32   ", 8);
  const uint8_t stub[] = {0xCD, 0x18, 0xF4, 0xEB, 0xFD};  // int 18h; hlt; jmp hlt
  std::memcpy(b.boot_code, stub, sizeof stub);
  b.signature = kBootSignature;
  std::memcpy(sector.data(), &b, sizeof b);
  // Larger sectors also end with the signature, as Microsoft's format does.
  store_le16(&sector[l.sector_size - 2], kBootSignature);
  return sector;
}

std::vector<uint8_t> fsinfo_sector_bytes(const Layout& l) {
  std::vector<uint8_t> sector(l.sector_size, 0);
  FsInfo f{};
  f.lead_signature = kFsInfoLead;
  f.struct_signature = kFsInfoStruct;
  f.free_count = l.cluster_count - 1;  // the root directory holds one cluster
  f.next_free = kRootCluster;          // hint = last allocated cluster, as Linux reads it
  f.trail_signature = kFsInfoTrail;
  std::memcpy(sector.data(), &f, sizeof f);
  return sector;
}

std::vector<uint8_t> fat_head_bytes(const Layout& l) {
  std::vector<uint8_t> sector(l.sector_size, 0);
  store_le32(&sector[0], 0x0FFFFF00u | kMediaFixedDisk);  // FAT[0]: media byte, rest ones
  store_le32(&sector[4], 0x0FFFFFFFu);                     // FAT[1]: clean shutdown, no errors
  store_le32(&sector[8], 0x0FFFFFFFu);                     // FAT[2]: root directory, one cluster
  return sector;
}

std::vector<uint8_t> root_dir_sector_bytes(const Layout& l, const std::string& label) {
  std::vector<uint8_t> sector(l.sector_size, 0);
  DirEntry e{};
  std::memcpy(e.name, padded_label(label).data(), 11);
  e.attr = kAttrVolumeId;
  uint16_t date = 0, tod = 0;
  dos_now(date, tod);
  e.create_date = date; e.create_time = tod;
  e.write_date = date; e.write_time = tod;
  e.access_date = date;
  std::memcpy(sector.data(), &e, sizeof e);
  return sector;
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

void validate_label(const std::string& label) {
  // Characters first: a non-ASCII label is refused for what it holds, not for its UTF-8 length.
  static const std::string forbidden = "\"*+,./:;<=>?[\\]|";
  for (size_t i = 0; i < label.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(label[i]);
    std::string where = std::string(" at ").append(label_position_text(label, i)).append(" of FAT label '").append(label).append("'");
    if (c < 0x20 || c == 0x7F) throw_validation("control character" + where + " is not allowed");
    if (c >= 0x80)
      throw_validation("non-ASCII byte" + where +
                       " is not allowed (FAT labels are stored in a DOS code page)");
    if (std::islower(c)) {
      std::string upper = label;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      throw_validation("lower-case letter" + where + ": FAT labels are upper case, use '" + upper + "'");
    }
    if (forbidden.find(static_cast<char>(c)) != std::string::npos)
      throw_validation(std::string("character '") + static_cast<char>(c) + "'" + where +
                       " is not allowed in FAT names (forbidden: " + forbidden + ")");
  }
  // ASCII only from here on: bytes are characters.
  if (label.size() > kLabelBytes)
    throw_validation("FAT label '" + label + "' is " + std::to_string(label.size()) +
                     " characters; FAT labels hold at most " + std::to_string(kLabelBytes) + " characters");
  if (!label.empty() && label[0] == ' ') throw_validation("FAT label '" + label + "' must not start with a space");
}

bool means_no_label(const std::string& label) { return label.empty() || padded_label(label) == "NO NAME    "; }

Layout compute_layout(uint64_t size, uint32_t ss) {
  if (ss != 512 && ss != 1024 && ss != 2048 && ss != 4096)
    throw_validation("FAT32 supports logical sectors of 512, 1024, 2048 or 4096 bytes, not " +
                     std::to_string(ss));
  uint64_t device_sectors = size / ss;
  if (device_sectors > UINT32_MAX) throw_too_large(size, ss);
  Layout l = layout_for(device_sectors, ss);
  if (l.cluster_count < kMinClusters) throw_too_small(size, ss);
  if (l.cluster_count > kMaxClusters) throw_too_large(size, ss);
  return l;
}

mos::WritePlan plan_mkfs(const Fat32Options& opts, uint64_t size, uint32_t ss) {
  validate_label(opts.label);
  const Layout l = compute_layout(size, ss);
  const uint32_t volume_id = opts.volume_id ? *opts.volume_id : random_volume_id();

  mos::WritePlan plan{"fat32", {}};
  // Clear reserved area, both FATs and the root cluster in one range: stale boot sectors,
  // FAT entries and old signatures (ext4 at 1 KiB, btrfs at 64 KiB) all lie inside.
  const uint64_t root_end = l.cluster_offset(kRootCluster) + l.cluster_bytes();
  plan.step("zero-metadata").zeroes.push_back({0, root_end, "FAT32 reserved area, FATs and root cluster"});

  auto& tables = plan.step("fats-and-root");
  const auto fat_head = fat_head_bytes(l);
  for (uint32_t i = 0; i < l.fat_count; ++i)
    tables.writes.push_back({l.fat_offset(i), fat_head, "FAT #" + std::to_string(i + 1) + " entries 0-2"});
  // mkfs.fat writes no label entry for "NO NAME" either: it is FAT's word for none, and blkid
  // shows no label for it.
  if (!means_no_label(opts.label))
    tables.writes.push_back({l.cluster_offset(kRootCluster), root_dir_sector_bytes(l, opts.label),
                             "root directory volume-label entry"});

  // Backup first, primary last: until the primary boot sector lands, nothing looks like FAT.
  // The boot sector is the format's commit: a probe knows FAT32 by it alone, so it is written by
  // itself after the FSInfo's flush (written together, a write torn after sector 0 left a FAT32
  // that probes whole and has no FSInfo; the write-log replay of a first boot found it).
  const auto boot = boot_sector_bytes(l, opts, volume_id);
  const auto fsinfo = fsinfo_sector_bytes(l);
  plan.step("backup-boot").writes.push_back(
      {uint64_t{kBackupBootSector} * ss, concat(boot, fsinfo), "backup boot sector and FSInfo (sectors 6-7)"});
  plan.step("fsinfo").writes.push_back({uint64_t{ss}, fsinfo, "FSInfo (sector 1)"});
  plan.step("boot").writes.push_back({0, boot, "boot sector (sector 0)"});
  return plan;
}

std::string volume_id_string(uint32_t id) {
  char buf[10];
  std::snprintf(buf, sizeof buf, "%04X-%04X", id >> 16, id & 0xFFFF);
  return buf;
}

uint32_t random_volume_id() {
  uint32_t id = 0;
  while (id == 0) {
    ssize_t got = getrandom(&id, sizeof id, 0);
    if (got < 0 && errno != EINTR) throw_sys("getrandom", {}, errno);
    if (got != sizeof id) id = 0;  // interrupted: draw again
  }
  return id;
}

}  // namespace mos::fsmake::fat32
