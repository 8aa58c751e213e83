// The judge of a write-log replay (issue 18 item 7): what the recorded first boot formatted and
// from which log entry on each format was durable, the state of one prefix's disk before a boot,
// and the verdict on one boot of mos_sysvol on it.
#pragma once
#include <nlohmann/json.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/vm/write_log.hpp"

namespace mos::vmtest {

using json = nlohmann::json;

// A filesystem or swap area the first boot formats on one partition of the disk.
struct Formatted {
  std::string name;        // "partition 5 btrfs"
  int partnum = 0;
  uint64_t region_start = 0, region_bytes = 0;  // the partition, bytes in the disk
  uint64_t magic_at = 0;   // bytes in the disk: the primary superblock's magic ...
  std::string magic;
  uint64_t uuid_at = 0;    // ... and the identity a new format would change
  size_t uuid_len = 0;
  // From the log: the first write of the magic and the FLUSH/FUA entry that makes it durable
  // (the format is complete in prefixes longer than `commit`). SIZE_MAX when never.
  size_t magic_write = SIZE_MAX, commit = SIZE_MAX;
};

// A v1.2 md member's data offset (bytes): le64 sectors at byte 128 of its superblock (4 KiB in).
uint64_t md12_data_offset(const std::string& image, uint64_t member_start);

// What the first boot formatted: partitions 2-5 of the final image (the complete log replayed).
// md_members: partitions 2 and 3 are md RAID1 members (two disks): the ESP's FAT32 starts the
// v0.90 member, ext4 lies at the v1.2 member's data offset.
std::vector<Formatted> formatted_things(const std::string& final_image, bool md_members = false);

// Fills magic_write and commit from the log; `disk_at`: where the disk starts in the logged
// device (bytes). Throws when the log never writes a thing's magic.
void find_commits(const WriteLog& log, uint64_t disk_at, std::vector<Formatted>& things);

// A digest of the non-zero 4 KiB blocks of [offset, offset + bytes) of a sparse image with their
// offsets: equal for equal content however the file is allocated.
std::string sparse_region_digest(const std::string& image, uint64_t offset, uint64_t bytes);
// True when the whole image holds only zeros (a blank disk).
bool image_is_blank(const std::string& image);

// One prefix's disk before the boot, per thing: complete (its commit is in the prefix), its
// provisioning record (GPT attribute bit 48: step pending), its digest and identity bytes; and
// whether the ESP's dirty bit is set (it was mounted at the power loss: the kernel's vfat keeps
// a dirty bit it did not set itself, so fsck.fat -n then exits 1 for that alone).
struct Before {
  std::vector<bool> complete, pending;
  std::vector<std::string> digest, uuid;
  bool fat_dirty = false;
};
Before state_before(const std::vector<Formatted>& things, const std::string& image, size_t prefix);

// One boot on one prefix, as the guest reported it.
struct BootReport {
  json exec;                // the exec step's line (exit_code, timed_out, stdout_json, ...)
  std::string mounts, swaps;  // /proc texts after the run
  std::string guest_disk;   // "vdc"
};

struct Verdict {
  std::string outcome;  // "ready", "refused" or "broken" (killed, timed out, no result)
  std::string mode;     // the report's mode (fresh, resume, existing, ...)
  std::vector<std::string> violations;  // empty: the prefix passed
};

// ready: exit 0 with a ready report, then every oracle clean; refused: a non-zero exit. Either
// way every thing complete in the prefix is still there: byte-equal when the boot did not use it,
// its magic and identity unchanged when it mounted or swapped it on; only a ready resume may have
// formatted again a thing whose record said "pending".
Verdict judge_boot(const std::vector<Formatted>& things, const Before& before, const std::string& image,
                   const BootReport& boot);

// One disk of a two-disk state: what the complete log formatted on it, its state before the boot.
struct DualDisk {
  const std::vector<Formatted>* things = nullptr;
  Before before;
  bool blank = false;  // the prefix left it all zeros
  std::string digest;  // sparse_region_digest of the whole disk before the boot ("" : not judged)
  std::string image, guest_disk;
};

// Two disks: ready (exit 0, a ready report, every oracle clean on both images), degraded (exit
// 2, a ready and degraded report, never a resume that left a stale md member out; a disk blank
// before is still blank: item 6, a blank disk is never provisioned next to finished storage) or
// refused (any other exit: then both disks byte-equal to before, a refused boot writes nothing:
// no md superblock update or resync, no journal replay); on each disk every thing complete in its
// prefix is still there, as judge_boot says.
Verdict judge_dual_boot(const DualDisk (&disks)[2], const json& exec, const std::string& mounts, const std::string& swaps);

}  // namespace mos::vmtest
