// Crash states of two disks recorded by two dm-log-writes targets (issue 18 item 7, two disks).
//
// The two logs share no clock, so which pairs (prefix of log A, prefix of log B) a power loss
// can leave is not in either log. What is: md RAID1 and the native mkfs writers on the arrays
// write the same data at the same sectors of both members at once, so those mirrored writes
// align the logs (a monotone matching); a power loss right after a FLUSH/FUA entry of one disk
// leaves the other about at the matching point, give or take what its own cache held since its
// last FLUSH/FUA entry. The pairs built here are a superset of the real states: a refusal is
// acceptable for any pair, a ready boot with a dirty oracle or a complete filesystem formatted
// again never is (tests/vm/README.md, "Two disks").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/vm/write_log.hpp"

namespace mos::vmtest {

// Entry lengths of log B aligned to lengths of log A and back, through their mirrored writes
// (same sectors, same non-zero data, matched in order).
class LogAlignment {
 public:
  LogAlignment(const WriteLog& a, const WriteLog& b);
  // The prefix length of the other log (0: log A's, 1: log B's) that matches `length` entries of log `side`.
  size_t other_at(int side, size_t length) const;
  // The shortest prefix of the other log that a power loss can leave next to `length` entries of
  // log `side` (causality): when the prefix holds a plain write logged after the first FLUSH that
  // followed a mirrored write, that write was issued after the flush (md's flush of both members:
  // mos_sysvol waits for it, e.g. before clearing a step's record), so the other member's FLUSH
  // after its copy of the mirrored write had completed too: the other prefix holds it. 0: no floor.
  size_t other_floor(int side, size_t length) const;
  size_t mirrored_writes() const { return pairs_.size(); }

 private:
  std::vector<std::pair<size_t, size_t>> pairs_;  // (entry of A, entry of B), both increasing
  // Per pair: the first FLUSH entry after it in log A, in log B (SIZE_MAX: none).
  std::vector<std::pair<size_t, size_t>> next_flush_;
  std::vector<size_t> last_plain_write_[2];  // per log: index of the last plain write at or before each entry
};

struct PairCut {
  size_t length[2] = {0, 0};  // entries of log A, log B
  size_t writes[2] = {0, 0};  // whole write entries each prefix holds
  std::string kind;  // "blank", "durable A"/"durable B", "between A"/"between B", "complete", "one disk"
};

struct PairPlan {
  std::vector<PairCut> cuts;     // distinct states (by the write counts of both), in order of log A
  size_t durable_entries[2] = {0, 0};  // FLUSH/FUA entries of each log
  size_t durable_drawn[2] = {0, 0};    // of those, paired
  size_t between_candidates[2] = {0, 0};
  size_t between_drawn = 0;      // seeded points drawn between the FLUSH/FUA entries
  size_t duplicates = 0;         // pairs drawn twice (same writes on both disks): booted once
  size_t raised = 0;             // drawn pairs whose other prefix was raised to its causal floor
  size_t impossible = 0;         // drawn pairs that no power loss can leave (dropped)
};

// The FLUSH/FUA entries of each log (all when `durable` is 0, else `durable` of them, one drawn
// from each equal slice, seeded) paired with the matching point of the other; `between`
// seeded points (half on each log, one from each equal slice of its non-durable write
// boundaries) paired with a seeded point of the other log between its FLUSH/FUA entries around
// the matching point; the blank pair, the complete pair, and each complete disk next to a blank
// one (the item 6 rule: a blank disk is never provisioned next to finished storage). The other
// prefix of a drawn pair is raised to its causal floor (LogAlignment::other_floor); a pair whose
// drawn prefix is then below the floor the other one sets is dropped.
PairPlan plan_pair_cuts(const WriteLog& a, const WriteLog& b, size_t between, size_t durable, uint64_t seed);

}  // namespace mos::vmtest
