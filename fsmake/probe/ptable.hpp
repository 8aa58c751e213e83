// Partition tables on the whole device (ptable.cpp): probed after the superblock table, for
// PTTYPE/PTUUID and the table's own signatures.
#pragma once
#include <string>
#include <vector>

#include "fsmake/probe/prober.hpp"
#include "gpt/structs.hpp"

namespace mos::fsmake::probe {

struct PartitionTable {
  std::string pttype, ptuuid;
  std::vector<Signature> sigs;
  std::string damaged;  // the primary GPT header is unreadable and the backup is used
};
bool probe_gpt(ProbeSource& src, PartitionTable& out);
bool probe_dos(ProbeSource& src, PartitionTable& out);
// A GPT whose protective MBR and primary header are gone (a zeroed first MiB) but whose backup
// header and array are valid (gpt_copy.cpp): pttype "gpt" with damaged set; blkid sees nothing.
bool probe_gpt_backup_only(ProbeSource& src, PartitionTable& out);
// A GPT header at `lba` that passes libblkid's checks (signature, header CRC, MyLBA, usable
// range, entry size 128, entry-array CRC), or nullptr.
const gpt::Header* valid_gpt_header(ProbeSource& src, uint64_t lba, uint64_t last_lba);

// What the dos prober must tell apart from an MBR that also ends in 55 AA: a FAT boot sector
// (vfat.cpp) and an LVM PV behind an empty MBR (lvm.cpp).
bool is_vfat(ProbeSource& src);
bool is_lvm2(ProbeSource& src);

}  // namespace mos::fsmake::probe
