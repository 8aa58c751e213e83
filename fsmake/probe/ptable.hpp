// Partition tables on the whole device (ptable.cpp): probed after the superblock table, for
// PTTYPE/PTUUID and the table's own signatures.
#pragma once
#include <string>
#include <vector>

#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

struct PartitionTable {
  std::string pttype, ptuuid;
  std::vector<Signature> sigs;
};
bool probe_gpt(ProbeSource& src, PartitionTable& out);
bool probe_dos(ProbeSource& src, PartitionTable& out);

// What the dos prober must tell apart from an MBR that also ends in 55 AA: a FAT boot sector
// (vfat.cpp) and an LVM PV behind an empty MBR (lvm.cpp).
bool is_vfat(ProbeSource& src);
bool is_lvm2(ProbeSource& src);

}  // namespace mos::fsmake::probe
