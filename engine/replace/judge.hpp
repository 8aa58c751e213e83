// The resume judge of a disk replacement: from facts read off the disks (the new disk's record,
// md member states, btrfs devices and chunk profiles, the swap signature) to what each step still
// has to do. Pure: unit-tested on described disk states (tests/unit/replace_judge_test.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mos::engine::replace {

// Where the new disk's partition stands in one md mirror.
enum class MdMember { absent, rebuilding, in_sync };

struct MirrorFacts {
  bool pending = true;          // the record bit of its partition on the new disk
  MdMember new_member = MdMember::absent;
  bool old_member = false;      // --failed: the old disk's partition is still a member
};

// Everything the judge needs, read from the disks (engine/replace/node.cpp).
struct ReplaceFacts {
  bool gpt_written = false;     // the new disk carries the layout with the replacement record
  bool replace_old = false;     // --failed OLD (a present member) rather than a missing disk
  MirrorFacts esp, boot;
  bool data_pending = true;     // record bit of mosdata (cleared after the balance)
  bool btrfs_new_member = false;         // the new mosdata is a device of MOSDATA
  bool btrfs_replace_running = false;    // a BTRFS_IOC_DEV_REPLACE runs (targeting the new disk)
  uint64_t btrfs_replace_permille = 0;
  bool btrfs_source_present = false;     // a missing device, or OLD, is still a device of MOSDATA
  bool single_copy_chunks = false;       // a Data/Metadata/System group not RAID1
  bool swap_pending = true;     // record bit of mosswap
  bool swap_signature = false;  // the new mosswap carries a swap signature
  bool swap_active = false;
};

// The steps in order; their names are those of progress, crash points and the README.
inline constexpr const char* kSteps[] = {"gpt", "md-esp", "md-boot", "btrfs-replace", "balance", "swap"};

struct StepVerdict {
  std::string step;    // one of kSteps
  std::string action;  // "done" | "run" | "resume" (pick up what the disks show half-done)
  std::string detail;  // what will be done, or what proves it done
};

// One verdict per step, in kSteps order.
std::vector<StepVerdict> judge_steps(const ReplaceFacts& f);
// Steps whose action is not "done".
std::vector<StepVerdict> remaining_steps(const ReplaceFacts& f);

}  // namespace mos::engine::replace
