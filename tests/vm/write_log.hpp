// The log of dm-log-writes (drivers/md/dm-log-writes.c), read on the host, and its replay.
//
// Layout of the log device, in units of the logged device's logical sector size S:
//   sector 0: struct log_write_super {le64 magic, le64 version, le64 nr_entries, le32 sectorsize}
//   then nr_entries times: one sector holding struct log_write_entry {le64 sector, le64 nr_sectors,
//   le64 flags, le64 data_len} (a MARK's name follows it in the same sector), then, for a write,
//   nr_sectors sectors of data. Discards and marks carry no data.
// Order: a write is logged at the next FLUSH in completion order (before that FLUSH entry); a FUA
// write is logged at completion. So every prefix of the log is a state the disk could hold after
// power loss: all that a flush made durable, plus some of what the drive still had in its cache.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mos::vmtest {

inline constexpr uint64_t kLogFlush = 1 << 0;
inline constexpr uint64_t kLogFua = 1 << 1;
inline constexpr uint64_t kLogDiscard = 1 << 2;
inline constexpr uint64_t kLogMark = 1 << 3;
// What dm-log-writes marks the log with when its device is removed (the log is then complete).
inline constexpr const char* kLogEndMark = "dm-log-writes-end";

struct LogEntry {
  uint64_t sector = 0;      // in units of WriteLog::sector_size
  uint64_t nr_sectors = 0;
  uint64_t flags = 0;
  uint64_t data_at = 0;     // byte offset of a write's data in the log file
  bool zero = false;        // a write whose data is all zeros (replayed as a hole)
  std::string mark;         // a MARK's name

  bool writes() const { return !(flags & kLogMark) && nr_sectors > 0; }  // data or discard
  bool durable_point() const { return flags & (kLogFlush | kLogFua); }
  uint64_t first_byte(uint32_t sector_size) const { return sector * sector_size; }
  uint64_t bytes(uint32_t sector_size) const { return nr_sectors * sector_size; }
};

struct WriteLog {
  std::string path;
  uint32_t sector_size = 0;
  std::vector<LogEntry> entries;  // in log order, the end mark included
};

// Parses a complete log: magic, version 1, every entry inside the file, the end mark last.
// Throws std::runtime_error saying what is wrong.
WriteLog read_write_log(const std::string& path);

// Bytes `size` at `offset` of what a write entry wrote (its data from the log file).
std::string entry_data(const WriteLog& log, const LogEntry& e, uint64_t offset = 0, uint64_t size = ~0ull);

// One disk of the logged device: its bytes [first_byte, first_byte + bytes) are the image file.
struct ReplayDisk {
  std::string image;
  uint64_t first_byte = 0;
  uint64_t bytes = 0;
};

// Makes each image a fresh blank sparse file of its disk's size, then applies entries [0, count)
// in log order: data is written, all-zero data and discards become holes. `torn` > 0: then the
// first `torn` sectors of entry `count` too (a write the power loss cut in the middle).
void replay_prefix(const WriteLog& log, size_t count, const std::vector<ReplayDisk>& disks, uint64_t torn = 0);

// A prefix of the log to replay: entries [0, length), plus the first `torn` sectors of entry
// `length` when torn > 0. Prefixes holding the same writes give the same disks, so each cut
// stands for one distinct state (`writes` = whole write entries it holds).
struct Cut {
  size_t length = 0;
  size_t writes = 0;
  std::string kind;  // "blank", "durable" (ends at a FLUSH/FUA entry), "between", "torn", "complete"
  uint64_t torn = 0;
};
struct CutPlan {
  std::vector<Cut> cuts;          // distinct states, in log order
  size_t durable_entries = 0;     // FLUSH/FUA entries of the log (each one's state is in `cuts`)
  size_t between_candidates = 0;  // writes whose state no durable point has
};
// Every FLUSH/FUA entry, `between` points among the other writes (one drawn from each of
// `between` equal slices of them, seeded; all of them when there are fewer, and then torn
// writes until `between` points: a seeded sector count of a seeded multi-sector write), the
// blank disk and the complete log.
CutPlan plan_cuts(const WriteLog& log, size_t between, uint64_t seed);

}  // namespace mos::vmtest
