// Which formats keep copies, in the order a copy search tries them, and the places a
// classification must find zero.
#include "fsmake/probe/copies.hpp"

#include <algorithm>

#include "fsmake/probe/btrfs.hpp"
#include "fsmake/probe/ext.hpp"

namespace mos::fsmake::probe {
namespace {

struct Keeper {
  std::string_view types[3];  // the blkid TYPEs whose copies this finds
  std::string (*primary_fault)(ProbeSource&);  // nullptr: nothing beyond the prober's checks
  bool (*copy)(ProbeSource&, CopyFound&);
};

// btrfs first: its mirrors are two reads; ext2/3/4 next (a few reads per geometry); the FAT32
// backup sits inside the head window.
constexpr Keeper kKeepers[] = {
    {{"btrfs"}, btrfs_primary_fault, btrfs_copy},
    {{"ext4", "ext3", "ext2"}, ext_primary_fault, ext_copy},
    {{"vfat"}, nullptr, vfat_copy},
};

const Keeper* keeper_of(std::string_view type) {
  for (const Keeper& k : kKeepers)
    for (std::string_view t : k.types)
      if (!t.empty() && t == type) return &k;
  return nullptr;
}

}  // namespace

std::string CopyFound::verdict() const {
  return where + (verified ? " is valid" : " looks valid (its checksum type cannot be verified here)");
}

std::string primary_fault(ProbeSource& src, std::string_view type) {
  const Keeper* k = keeper_of(type);
  return k && k->primary_fault ? k->primary_fault(src) : std::string();
}

bool find_copy_of(ProbeSource& src, std::string_view type, CopyFound& out) {
  const Keeper* k = keeper_of(type);
  return k && k->copy(src, out);
}

bool find_any_copy(ProbeSource& src, CopyFound& out) {
  for (const Keeper& k : kKeepers)
    if (k.copy(src, out)) return true;
  return false;
}

}  // namespace mos::fsmake::probe

namespace mos::fsmake {

std::vector<Signature> find_copy_signatures(ProbeSource& src) {
  std::vector<Signature> out;
  probe::btrfs_copy_signatures(src, out);
  probe::ext_copy_signatures(src, out);
  probe::vfat_copy_signatures(src, out);
  std::sort(out.begin(), out.end(), [](const Signature& a, const Signature& b) { return a.offset < b.offset; });
  return out;
}

}  // namespace mos::fsmake

namespace mos::fsmake::probe {

std::vector<Place> copy_places(uint64_t size) {
  std::vector<Place> out;
  btrfs_copy_places(size, out);
  ext_copy_places(size, out);
  std::vector<Place> outside;
  const uint64_t edge = uint64_t{1} << 20;
  for (auto& p : out)
    if (p.offset >= edge && p.offset + p.length <= size - std::min(size, edge)) outside.push_back(std::move(p));
  std::sort(outside.begin(), outside.end(), [](const Place& a, const Place& b) { return a.offset < b.offset; });
  return outside;
}

}  // namespace mos::fsmake::probe
