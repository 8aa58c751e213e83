// Partition tables on the whole device: GPT (protective MBR + "EFI PART" header whose CRCs
// check out, primary at LBA 1 or backup at the last LBA) and the legacy DOS MBR.
// PTUUID is the GPT disk GUID, or the MBR disk id as 8 hex digits.
// TODO(gpt branch): use gpt::read_table for the header once it is merged; this is the minimal
// check libblkid makes to report PTTYPE/PTUUID.
#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "fsmake/probe_internal.hpp"
#include "ioctl/bytes.hpp"

namespace mos::fsmake::probe {
namespace {

struct MbrPartition {
  uint8_t boot_ind;
  uint8_t chs_start[3];
  uint8_t sys_ind;
  uint8_t chs_end[3];
  le32 start_sect;
  le32 nr_sects;
};
static_assert(sizeof(MbrPartition) == 16);

struct Mbr {
  uint8_t boot_code[440];
  le32 disk_id;  // 0x1b8
  uint8_t reserved[2];
  MbrPartition part[4];  // 0x1be
  uint8_t signature[2];  // 0x1fe: 55 AA
};
static_assert(sizeof(Mbr) == 512);

struct GptHeader {
  uint8_t signature[8];  // "EFI PART"
  le32 revision;
  le32 header_size;
  le32 header_crc32;
  le32 reserved;
  le64 my_lba;
  le64 alternate_lba;
  le64 first_usable_lba;
  le64 last_usable_lba;
  uint8_t disk_guid[16];
  le64 partition_entries_lba;
  le32 num_partition_entries;
  le32 sizeof_partition_entry;
  le32 partition_entry_array_crc32;
};
static_assert(sizeof(GptHeader) == 92);

constexpr uint8_t kGptPartitionType = 0xEE;
constexpr uint32_t kGptEntrySize = 128;
constexpr uint64_t kMaxEntriesBytes = 1024 * 1024;  // bound on what we read for the CRC

const Mbr* load_mbr(ProbeSource& src) {
  auto b = src.get(0, sizeof(Mbr));
  if (b.empty() || b[0x1fe] != 0x55 || b[0x1ff] != 0xAA) return nullptr;
  return reinterpret_cast<const Mbr*>(b.data());
}

uint32_t crc32_of(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(::crc32(::crc32(0L, Z_NULL, 0), p, static_cast<uInt>(n)));
}

// A GPT header at 'lba' that passes libblkid's checks, or nullptr.
const GptHeader* valid_header(ProbeSource& src, uint64_t lba, uint64_t last_lba) {
  uint32_t ss = src.sector_size();
  auto b = src.get(lba * ss, ss);
  if (b.size() < sizeof(GptHeader)) return nullptr;
  const auto* h = reinterpret_cast<const GptHeader*>(b.data());
  if (std::memcmp(h->signature, "EFI PART", 8) != 0) return nullptr;
  uint32_t hsz = h->header_size;
  if (hsz > ss || hsz < sizeof(GptHeader)) return nullptr;
  std::vector<uint8_t> copy(b.begin(), b.begin() + hsz);
  std::memset(copy.data() + offsetof(GptHeader, header_crc32), 0, 4);
  if (crc32_of(copy.data(), hsz) != h->header_crc32.get()) return nullptr;
  if (h->my_lba.get() != lba) return nullptr;
  uint64_t fu = h->first_usable_lba, lu = h->last_usable_lba;
  if (lu < fu || fu > last_lba || lu > last_lba) return nullptr;
  if (fu < lba && lba < lu) return nullptr;
  uint64_t esz = uint64_t{h->num_partition_entries} * h->sizeof_partition_entry;
  if (esz == 0 || esz > kMaxEntriesBytes || h->sizeof_partition_entry.get() != kGptEntrySize)
    return nullptr;
  uint64_t entries_lba = h->partition_entries_lba;
  if (entries_lba > src.size() / ss) return nullptr;
  auto e = src.get(entries_lba * ss, esz);
  if (e.empty() || crc32_of(e.data(), e.size()) != h->partition_entry_array_crc32.get())
    return nullptr;
  return h;
}

}  // namespace

bool probe_gpt(ProbeSource& src, PartitionTable& out) {
  uint32_t ss = src.sector_size();
  if (src.size() < 2ull * ss) return false;
  const Mbr* mbr = load_mbr(src);
  if (!mbr) return false;
  bool protective = false;
  for (const auto& p : mbr->part) protective |= p.sys_ind == kGptPartitionType;
  if (!protective) return false;
  uint64_t last_lba = src.size() / ss - 1;
  const GptHeader* primary = valid_header(src, 1, last_lba);
  const GptHeader* backup = valid_header(src, last_lba, last_lba);
  const GptHeader* h = primary ? primary : backup;
  if (!h) return false;
  out.pttype = "gpt";
  out.ptuuid = guid_text(h->disk_guid);
  out.sigs.push_back(make_signature("PMBR", 0x1fe, mbr->signature));
  // A wipe erases both headers' signatures so no tool can resurrect the table from a copy.
  for (uint64_t lba : {uint64_t{1}, last_lba}) {
    auto s = src.get(lba * ss, 8);
    if (!s.empty() && std::memcmp(s.data(), "EFI PART", 8) == 0)
      out.sigs.push_back(make_signature("gpt", lba * ss, s));
  }
  return true;
}

bool probe_dos(ProbeSource& src, PartitionTable& out) {
  const Mbr* mbr = load_mbr(src);
  if (!mbr) return false;
  if (std::memcmp(mbr->boot_code, "\xc9\xc2\xd4\xc1", 4) == 0) return false;  // AIX
  bool empty = true;
  for (const auto& p : mbr->part) {
    if (p.boot_ind != 0 && p.boot_ind != 0x80) return false;
    if (p.sys_ind == kGptPartitionType) return false;
    empty &= p.nr_sects.get() == 0;
  }
  // A FAT boot sector also ends in 55 AA; an LVM PV with an empty MBR is just the PV.
  if (is_vfat(src)) return false;
  if (empty && is_lvm2(src)) return false;
  out.pttype = "dos";
  if (uint32_t id = mbr->disk_id; id) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", id);
    out.ptuuid = text;
  }
  out.sigs.push_back(make_signature("dos", 0x1fe, mbr->signature));
  return true;
}

}  // namespace mos::fsmake::probe
