// The recording boot of the write-log replay (issue 18 item 7): a first boot of mos_sysvol on one
// or two blank disks, each behind its own dm-log-writes target, and what the logs say.
#pragma once
#include <string>
#include <vector>

#include "tests/support/harness.hpp"
#include "tests/vm/replay_judge.hpp"
#include "tests/vm/write_log.hpp"

namespace mos::vmtest {

inline constexpr uint64_t kReplayDiskBytes = 8ull << 30;
inline constexpr uint64_t kReplayHead = 1ull << 20;  // in front of each disk in its recorded device

struct RecordedDisk {
  WriteLog log;
  std::vector<Formatted> things;  // what the first boot formatted, and when each was durable
};

// Guest disk i (vda, vdb) is kReplayHead bytes of 0xa5 then the disk (so neither it nor its dm
// device reads as one more blank disk), logged to disk n + i; a loop device over each dm device
// at kReplayHead is a disk mos_sysvol provisions (the kernel gives dm devices no partitions, a
// loop device takes BLKPG). Then everything is released and the dm devices removed (each log's
// end mark). Checks that each whole log replayed gives the disk the guest left (the parser and
// the replay are right). Empty when the recording failed (the failures are reported).
std::vector<RecordedDisk> record_first_boot(const test::TempDir& dir, size_t disks);

}  // namespace mos::vmtest
