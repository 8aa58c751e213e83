// Partition tables on the whole device: GPT (or a bare protective MBR) and the legacy DOS MBR,
// decided by libblkid's rules so PTTYPE/PTUUID match `blkid -p`. The on-disk structs are gpt/'s;
// acceptance is deliberately blkid's, looser than gpt::read_table (e.g. a primary header whose
// alternate LBA points past the disk still counts), because a probe must not overlook a table
// the user's tools still see. Per-partition names and types come from gpt::read_table.
#include <cstdio>
#include <cstring>

#include "fsmake/probe/ptable.hpp"
#include "gpt/read.hpp"
#include "gpt/structs.hpp"

namespace mos::fsmake::probe {
namespace {

constexpr uint32_t kBlkidEntrySize = 128;

const gpt::ProtectiveMbr* load_mbr(ProbeSource& src) {
  auto b = src.get(0, sizeof(gpt::ProtectiveMbr));
  if (b.empty()) return nullptr;
  const auto* m = reinterpret_cast<const gpt::ProtectiveMbr*>(b.data());
  return m->signature.get() == gpt::kMbrSignature ? m : nullptr;
}

}  // namespace

const gpt::Header* valid_gpt_header(ProbeSource& src, uint64_t lba, uint64_t last_lba) {
  uint32_t ss = src.sector_size();
  auto b = src.get(lba * ss, ss);
  if (b.size() < sizeof(gpt::Header)) return nullptr;
  const auto* h = reinterpret_cast<const gpt::Header*>(b.data());
  if (std::memcmp(h->signature, gpt::kSignature, 8) != 0) return nullptr;
  uint32_t hsz = h->header_size;
  if (hsz > ss || hsz < sizeof(gpt::Header)) return nullptr;
  std::vector<uint8_t> copy(b.begin(), b.begin() + hsz);
  std::memset(copy.data() + offsetof(gpt::Header, header_crc32), 0, 4);
  if (gpt::gpt_crc32(copy.data(), hsz) != h->header_crc32.get()) return nullptr;
  if (h->my_lba.get() != lba) return nullptr;
  uint64_t fu = h->first_usable_lba, lu = h->last_usable_lba;
  if (lu < fu || fu > last_lba || lu > last_lba) return nullptr;
  if (fu < lba && lba < lu) return nullptr;
  uint64_t esz = uint64_t{h->number_of_partition_entries} * h->size_of_partition_entry;
  if (esz == 0 || esz > gpt::kMaxEntryArrayBytes || h->size_of_partition_entry.get() != kBlkidEntrySize)
    return nullptr;
  uint64_t entries_lba = h->partition_entry_lba;
  if (entries_lba > src.size() / ss) return nullptr;
  auto e = src.get(entries_lba * ss, esz);
  if (e.empty() || gpt::gpt_crc32(e.data(), e.size()) != h->partition_entry_array_crc32.get())
    return nullptr;
  return h;
}

bool probe_gpt(ProbeSource& src, PartitionTable& out) {
  uint32_t ss = src.sector_size();
  if (src.size() < 2ull * ss) return false;
  const gpt::ProtectiveMbr* mbr = load_mbr(src);
  if (!mbr) return false;
  bool protective = false;
  for (const auto& p : mbr->partitions) protective |= p.os_type == gpt::kProtectiveType;
  if (!protective) return false;
  uint64_t last_lba = src.size() / ss - 1;
  const gpt::Header* h = valid_gpt_header(src, 1, last_lba);
  if (!h) {
    h = valid_gpt_header(src, last_lba, last_lba);
    if (h) out.damaged = "primary GPT header unreadable; backup header at LBA " + std::to_string(last_lba) + " is valid";
  }
  // A protective MBR without a usable header is blkid's PTTYPE "PMBR" (e.g. a GPT disk image
  // written to a smaller disk); its stale headers are still erased by a wipe.
  out.pttype = h ? "gpt" : "PMBR";
  if (h) out.ptuuid = h->disk_guid.to_string();
  out.sigs.push_back(make_signature("PMBR", 0x1fe, mbr->signature.b));
  // A wipe erases both headers' signatures so no tool can resurrect the table from a copy.
  for (uint64_t lba : {uint64_t{1}, last_lba}) {
    auto s = src.get(lba * ss, 8);
    if (!s.empty() && std::memcmp(s.data(), gpt::kSignature, 8) == 0)
      out.sigs.push_back(make_signature("gpt", lba * ss, s));
  }
  return true;
}

bool probe_dos(ProbeSource& src, PartitionTable& out) {
  const gpt::ProtectiveMbr* mbr = load_mbr(src);
  if (!mbr) return false;
  if (std::memcmp(mbr->boot_code, "\xc9\xc2\xd4\xc1", 4) == 0) return false;  // AIX
  bool empty = true;
  for (const auto& p : mbr->partitions) {
    if (p.boot_indicator != 0 && p.boot_indicator != 0x80) return false;
    if (p.os_type == gpt::kProtectiveType) return false;
    empty &= p.size_in_lba.get() == 0;
  }
  // A FAT boot sector also ends in 55 AA; an LVM PV with an empty MBR is just the PV.
  if (is_vfat(src)) return false;
  if (empty && is_lvm2(src)) return false;
  out.pttype = "dos";
  if (uint32_t id = mbr->unique_mbr_signature; id) {  // the DOS disk id blkid prints as PTUUID
    char text[16];
    std::snprintf(text, sizeof text, "%08x", id);
    out.ptuuid = text;
  }
  out.sigs.push_back(make_signature("dos", 0x1fe, mbr->signature.b));
  return true;
}

}  // namespace mos::fsmake::probe
