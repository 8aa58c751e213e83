// btrfs, like `btrfs rescue super-recover`: the newest valid mirror (its checksum holds, the
// same fsid as every other valid copy, the highest generation) written to the primary place
// with its bytenr set to 64 KiB and the checksum computed again. The mirrors carry everything
// else the primary did (btrfs writes every copy of a device at each commit).
#include <algorithm>
#include <cstring>

#include "base/bytes.hpp"
#include "engine/repair/formats.hpp"
#include "fsmake/probe/btrfs.hpp"

namespace mos::engine::repair {
namespace {

using fsmake::probe::BtrfsChecksum;
using fsmake::probe::BtrfsCopy;
using fsmake::probe::BtrfsSuperblockHead;
using fsmake::probe::kBtrfsCopyOffsets;
using fsmake::probe::kBtrfsSuperblockBytes;

constexpr size_t kDevItemTotalBytes = 8;  // dev_item.total_bytes, after devid

std::string mirror_text(const BtrfsCopy& c) {
  return "mirror " + std::to_string(c.mirror) + " at " + std::to_string(c.offset) + " (generation " +
         std::to_string(c.generation) + ")";
}

std::string fsid_text(std::span<const uint8_t> fsid) { return fsmake::probe::uuid_text(fsid); }

}  // namespace

FormatRepair btrfs_repair(fsmake::ProbeSource& src, const std::string& device) {
  const std::vector<BtrfsCopy> copies = fsmake::probe::btrfs_copies(src);
  std::vector<const BtrfsCopy*> valid;
  for (const BtrfsCopy& c : copies) {
    if (c.mirror == 0) continue;  // the damaged primary is what is being replaced
    if (c.checksum == BtrfsChecksum::not_verifiable || c.checksum == BtrfsChecksum::unknown_type)
      refuse(device, "the btrfs " + mirror_text(c) + " uses the " + fsmake::probe::btrfs_checksum_name(c.csum_type) +
                         " checksum, which cannot be computed here (use btrfs rescue super-recover)");
    if (c.checksum == BtrfsChecksum::ok) valid.push_back(&c);
  }
  if (valid.empty())
    refuse(device, "no btrfs superblock mirror (64 MiB, 256 GiB) of the device holds a valid checksum: nothing to "
                   "repair from");
  for (const BtrfsCopy* c : valid)
    if (c->fsid != valid.front()->fsid)
      refuse(device, "its valid btrfs superblock copies disagree on the filesystem: " + mirror_text(*valid.front()) +
                         " names fsid " + fsid_text(valid.front()->fsid) + ", " + mirror_text(*c) + " names " +
                         fsid_text(c->fsid));
  const BtrfsCopy& newest = **std::max_element(valid.begin(), valid.end(), [](const BtrfsCopy* a, const BtrfsCopy* b) {
    return a->generation < b->generation;
  });

  // A primary that still carries the magic but another fsid belongs to a newer filesystem made
  // over an old one whose mirror survived: bringing the old one back would destroy it.
  auto primary = src.get(kBtrfsCopyOffsets[0], kBtrfsSuperblockBytes);
  if (primary.size() == kBtrfsSuperblockBytes) {
    const auto& p = *reinterpret_cast<const BtrfsSuperblockHead*>(primary.data());
    if (std::memcmp(p.magic, "_BHRfS_M", 8) == 0 && std::memcmp(p.fsid, newest.fsid.data(), 16) != 0)
      refuse(device, "the damaged primary superblock names fsid " + fsid_text(p.fsid) + " but its valid copies name " +
                         fsid_text(newest.fsid) + ": not the same filesystem");
  }

  auto copy = src.get(newest.offset, kBtrfsSuperblockBytes);
  std::vector<uint8_t> block(copy.begin(), copy.end());
  auto& sb = *reinterpret_cast<BtrfsSuperblockHead*>(block.data());
  const uint64_t total_bytes = load_le64(sb.dev_item_head + kDevItemTotalBytes);
  if (total_bytes > src.size())
    refuse(device, "the btrfs " + mirror_text(newest) + " describes a device of " + std::to_string(total_bytes) +
                       " bytes, larger than this one (" + std::to_string(src.size()) + "): not this filesystem's copy");
  sb.bytenr = kBtrfsCopyOffsets[0];
  fsmake::probe::btrfs_set_checksum(block);  // computable: the copy's own checksum was verified with it

  FormatRepair out;
  out.source = "copy at " + std::to_string(newest.offset) + " (btrfs mirror " + std::to_string(newest.mirror) +
               ", generation " + std::to_string(newest.generation) + ")";
  out.plan.name = "repair";
  out.plan.step("primary-superblock")
      .writes.push_back({kBtrfsCopyOffsets[0], std::move(block),
                         "btrfs primary superblock (from mirror " + std::to_string(newest.mirror) + ", bytenr set to " +
                             std::to_string(kBtrfsCopyOffsets[0]) + ", checksum computed again)"});
  for (const BtrfsCopy* c : valid)
    if (c->generation < newest.generation)
      out.notes.push_back("btrfs " + mirror_text(*c) + " is older; the kernel rewrites it at the next commit");
  return out;
}

}  // namespace mos::engine::repair
