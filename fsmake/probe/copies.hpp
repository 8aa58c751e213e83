// The copies formats keep of their superblock: btrfs mirrors, ext2/3/4 backup groups, the FAT32
// backup boot sector (the GPT backup header is ptable.cpp's). Looked at only where a primary is
// missing or fails its own check, so a healthy device costs no extra read. Each format's search
// sits in its own file beside its prober; copies.cpp orders them.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

// A copy found valid while the primary is not.
struct CopyFound {
  std::string type, usage;  // blkid TYPE and USAGE of what the copy describes
  Found found;              // label, uuid, ... as the primary would have given them
  uint64_t offset = 0;      // where the copy is
  std::string where;        // "copy at 67108864 (btrfs mirror 1, generation 12)"
  bool verified = true;     // false: the copy's checksum type cannot be checked here (sha256, blake2b)
  // "<where> is valid", or "... looks valid (its checksum cannot be verified here)"
  std::string verdict() const;
};

// Why the primary of `type` (a table prober matched it) is not to be trusted: a checksum or a
// field that does not hold; "" when it checks out or the format has nothing more to check.
std::string primary_fault(ProbeSource& src, std::string_view type);
// A valid copy of `type`'s superblock; false when there is none (or the format keeps none).
bool find_copy_of(ProbeSource& src, std::string_view type, CopyFound& out);
// A valid copy of any format that keeps one, btrfs, then ext2/3/4, then vfat; false when none.
bool find_any_copy(ProbeSource& src, CopyFound& out);

// Where a format keeps a superblock or a copy outside the first and last MiB of a device of
// `size` bytes (the first and last MiB hold every primary, the FAT backup and the md and GPT
// copies): the btrfs mirrors and the ext2/3/4 backup places of every geometry mke2fs makes.
struct Place {
  uint64_t offset = 0;
  uint32_t length = 0;
  std::string what;
};
std::vector<Place> copy_places(uint64_t size);

// The per-format halves (btrfs_copy.cpp, ext_copy.cpp, vfat_copy.cpp); *_copy_signatures add
// the magic of every copy present (valid or not) to out.
bool btrfs_copy(ProbeSource& src, CopyFound& out);
bool ext_copy(ProbeSource& src, CopyFound& out);
bool vfat_copy(ProbeSource& src, CopyFound& out);
void btrfs_copy_places(uint64_t size, std::vector<Place>& out);
void ext_copy_places(uint64_t size, std::vector<Place>& out);
void btrfs_copy_signatures(ProbeSource& src, std::vector<Signature>& out);
void ext_copy_signatures(ProbeSource& src, std::vector<Signature>& out);
void vfat_copy_signatures(ProbeSource& src, std::vector<Signature>& out);

}  // namespace mos::fsmake::probe
