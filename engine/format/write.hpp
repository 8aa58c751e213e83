// Applying a format's plan (old-signature wipe + the writer's steps) to a member held O_EXCL,
// with the member's ProbeSource following every step, so the result is probed without reading
// the device again, and zero ranges the device already holds as zeros (or the same step
// overwrites whole) are not written.
#pragma once
#include "fsmake/probe/source.hpp"
#include "ioctl/fd.hpp"
#include "base/write_plan.hpp"

namespace mos::engine {

// Steps in order as apply_plan (zeroes, writes, crash point "<plan>:after-<step>"), but with
// two flushes, not one per step: every step before the last (the old-signature wipe and the
// writer's body) is one flush unit, the last (the commit record) another; a two-step plan whose
// wipe would change nothing the header does not overwrite whole leaves the wipe out (see the
// .cpp for why both are crash-safe). Crash points fire after their unit's flush.
// Small zero ranges are plain writes of zeros through fd (an offload would make a loop device
// or thin volume deallocate them before the writes that follow), skipping the blocks the
// source shows as zero already or a write of the unit overwrites whole; large ones (ext4
// full_init) go through the bulk path at device speed, followed by BLKFLSBUF. `src` describes
// fd's device and is kept current.
void apply_format_plan(const io::Fd& fd, const mos::WritePlan& plan, fsmake::ProbeSource& src);

}  // namespace mos::engine
