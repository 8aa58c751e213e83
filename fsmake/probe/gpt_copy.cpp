// The GPT backup header and entry array at the end of the disk, looked at when the protective
// MBR is gone too (blkid then reports no table at all): a first MiB zeroed in front of a GPT.
#include <cstring>

#include "fsmake/probe/ptable.hpp"

namespace mos::fsmake::probe {

bool probe_gpt_backup_only(ProbeSource& src, PartitionTable& out) {
  const uint32_t ss = src.sector_size();
  if (src.size() < 6ull * ss) return false;
  const uint64_t last_lba = src.size() / ss - 1;
  const gpt::Header* h = valid_gpt_header(src, last_lba, last_lba);
  if (!h || h->alternate_lba.get() != 1) return false;
  out.pttype = "gpt";
  out.ptuuid = h->disk_guid.to_string();
  out.damaged = "protective MBR and primary GPT header unreadable; backup header at LBA " + std::to_string(last_lba) +
                " (byte " + std::to_string(last_lba * ss) + ") is valid";
  return true;
}

}  // namespace mos::fsmake::probe
