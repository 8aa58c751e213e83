// The prober table: only the order, libblkid's (superblocks.c idinfos). RAID members come first
// so a member's inner filesystem is not reported, then caches and crypto containers, then
// filesystems. Each entry (type, usage, min size, magics, probe function) is defined beside its
// probe function; a new format is its file plus its line here.
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {

extern const Prober kLinuxRaid, kDdfRaid, kIswRaid, kLsiRaid, kViaRaid, kSiliconRaid, kNvidiaRaid,
    kPromiseRaid, kHpt45xRaid, kHpt37xRaid, kAdaptecRaid, kJmicronRaid, kBcache, kBcachefs,
    kCephBluestore, kDrbd, kLvm2, kLuks, kVmfs, kBitLocker, kVfat, kSwap, kXfs, kExt4, kExt3,
    kExt2, kReiserfs, kJfs, kUdf, kIso9660, kZfs, kHfsPlus, kHfs, kNtfs, kRefs, kSquashfs,
    kBtrfs, kNilfs2, kExfat, kF2fs, kApfs;

namespace {

constexpr const Prober* kOrder[] = {
    &kLinuxRaid,     // md.cpp
    &kDdfRaid,       // fwraid.cpp, as the other firmware RAIDs
    &kIswRaid,
    &kLsiRaid,
    &kViaRaid,
    &kSiliconRaid,
    &kNvidiaRaid,
    &kPromiseRaid,
    &kHpt45xRaid,
    &kHpt37xRaid,
    &kAdaptecRaid,
    &kJmicronRaid,
    &kBcache,        // bcache.cpp, with bcachefs
    &kBcachefs,
    &kCephBluestore,
    &kDrbd,
    &kLvm2,
    &kLuks,
    &kVmfs,
    &kBitLocker,
    &kVfat,
    &kSwap,
    &kXfs,
    &kExt4,          // ext.cpp: ext4 before ext3 before ext2, as libblkid
    &kExt3,
    &kExt2,
    &kReiserfs,
    &kJfs,
    &kUdf,
    &kIso9660,
    &kZfs,
    &kHfsPlus,       // hfs.cpp
    &kHfs,
    &kNtfs,
    &kRefs,
    &kSquashfs,
    &kBtrfs,
    &kNilfs2,
    &kExfat,
    &kF2fs,
    &kApfs,
};

}  // namespace

std::span<const Prober* const> probers() { return kOrder; }

}  // namespace mos::fsmake::probe
