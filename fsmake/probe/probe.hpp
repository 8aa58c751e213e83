// Native signature prober (the libblkid shape): one small prober per on-disk signature with its
// magics and offsets beside it, a table that only orders them, and one result record whose
// fields print exactly as `blkid -p` does.
// A device is read in one short pass: a head window and a tail window, each read once.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fsmake/probe/source.hpp"
#include "ioctl/fd.hpp"

namespace mos::fsmake {

struct ProbeResult {
  // blkid TYPE: ext2|ext3|ext4|btrfs|vfat|swap|xfs|linux_raid_member|LVM2_member|crypto_LUKS|
  // squashfs|iso9660|bcachefs|zfs_member, the foreign formats named for the safety gate (ntfs,
  // exfat, BitLocker, hfsplus, hfs, apfs, f2fs, udf, ReFS, jfs, nilfs2, reiserfs, bcache, drbd,
  // ceph_bluestore, VMFS_volume_member) and firmware-RAID members (isw_raid_member,
  // ddf_raid_member, ...); "" when no signature was recognised.
  std::string type;
  std::string usage;  // filesystem|raid|crypto|other (blkid USAGE)
  std::string label, uuid, uuid_sub, version, sec_type;
  // Partition table on this device: "gpt" | "dos" | "" — or "PMBR" when a protective MBR has
  // no valid GPT header behind it (blkid's name for that state).
  std::string pttype;
  std::string ptuuid;
  // Why the primary superblock (or primary GPT header) is not to be trusted and which copy is
  // valid, e.g. "primary superblock unreadable; copy at 67108864 (btrfs mirror 1, generation 12)
  // is valid"; "" when the primary is healthy. When the primary is unreadable, type, label and
  // uuid are the copy's; when a table prober still matched it (a checksum that does not hold),
  // they stay the primary's, as blkid -p prints them.
  std::string damaged;
  bool copy_valid = false;  // damaged, and the copy it names is valid (what a repair starts from)
};

// One on-disk magic that identifies a signature; wipe_signatures erases exactly these bytes.
struct Signature {
  std::string type;  // blkid TYPE or PTTYPE ("gpt", "dos", "PMBR")
  uint64_t offset = 0;
  uint32_t length = 0;
  std::vector<uint8_t> bytes;  // the magic as found on disk (length bytes)
};

// Probes a block device (or image file) of size_bytes; never reads past size_bytes.
ProbeResult probe_device(const io::Fd& fd, uint64_t size_bytes, uint32_t logical_sector_size);
// Every signature present, like `wipefs --no-act --all`: filesystems, RAID/LVM/LUKS headers,
// GPT primary + backup headers, protective/legacy MBR magic, md superblocks at the end.
std::vector<Signature> find_signatures(const io::Fd& fd, uint64_t size_bytes,
                                       uint32_t logical_sector_size);

// The magics of the copies formats keep outside what wipefs erases: btrfs mirror superblocks,
// ext2/3/4 backup superblocks, the FAT32 backup boot sector. `wipefs --all` leaves them (and
// `btrfs rescue super-recover`, `e2fsck -b` and fsck.fat bring the filesystem back from them);
// a wipe that means "nothing left to recognise" erases these too.
std::vector<Signature> find_copy_signatures(ProbeSource& src);

// The same over a source the caller already read (one read of the windows for several checks).
ProbeResult probe_device(ProbeSource& src);
std::vector<Signature> find_signatures(ProbeSource& src);

// The same probes over an in-memory image (the whole device); used by unit tests.
ProbeResult probe_image(std::span<const uint8_t> image, uint32_t logical_sector_size);
std::vector<Signature> find_signatures_in_image(std::span<const uint8_t> image,
                                                uint32_t logical_sector_size);

}  // namespace mos::fsmake
