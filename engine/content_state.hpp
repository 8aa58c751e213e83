// Damaged is not blank: what a region (a partition or a whole device) that should carry one
// filesystem, or nothing yet, holds now. One rule for mos_sysvol and the daemon's unknown-data
// gate: never written = every place a format keeps a superblock or a copy reads as zeros.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fsmake/probe/probe.hpp"
#include "fsmake/probe/source.hpp"

namespace mos::engine {

enum class ContentState { never_written, ours, damaged };

struct ContentVerdict {
  ContentState state = ContentState::never_written;
  std::string fstype, label;  // what was recognised (from the primary or a copy), "" if none
  std::string reason;         // damaged: what, where, which copy is valid; ours/never: ""
  std::string repair;         // damaged with a valid copy: the exact command that repairs it
                              // (`mos-volmgr repair-superblock /dev/X`), else ""
};

// A region that should carry `expect_fstype` labelled `expect_label` (any label when empty),
// or nothing yet. never_written: the first and last MiB, the btrfs mirrors and the ext2/3/4
// backup places of every geometry read as zeros (they hold every primary, the FAT backup and the
// md 0.90/1.x places); ours: the expected filesystem, primary healthy; damaged: anything else
// (a primary that does not parse while a copy does, another filesystem, non-zero bytes we cannot
// name, an I/O error).
ContentVerdict classify_content(fsmake::ProbeSource& src, std::string_view expect_fstype, std::string_view expect_label);

// The first offset where a format would keep a superblock or copy that does not read as zeros
// (nullopt: never written) — the unknown-data gate's rule. Throws -32000 when a place cannot be
// read (unreadable is never blank).
std::optional<uint64_t> first_unnamed_nonzero(fsmake::ProbeSource& src);

// What a probe found, as a gate names it: "an ext4 filesystem (LABEL=MOSBOOT)", "a
// linux_raid_member signature", "a gpt partition table"; "" when nothing.
std::string describe_content(const fsmake::ProbeResult& r);

// "a btrfs filesystem (LABEL=MOSDATA) whose primary superblock is damaged (primary superblock
// unreadable; copy at ... is valid)", or for a table "a gpt partition table whose primary header
// is damaged (...)": how a gate names a damaged device. "" when r is not damaged.
std::string damaged_content_text(const fsmake::ProbeResult& r);

// The command that rewrites the primary from its valid copy.
std::string repair_command(const std::string& device);

}  // namespace mos::engine
