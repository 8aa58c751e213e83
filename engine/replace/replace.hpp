// Replacing a disk of a two-disk MOS node (storage.replace_disk, mos-volmgr replace-disk): the new
// disk gets the survivor's layout, joins both md mirrors, replaces the missing (or failed) MOSDATA
// device, the single-copy chunks are converted back to RAID1 and a new swap is made. Resumable:
// every step is judged from the disks (engine/replace/README.md).
#pragma once
#include "engine/btrfs/fs.hpp"
#include "engine/json.hpp"
#include "engine/replace/node.hpp"

namespace mos::engine::replace {

// The plan: the node, the layout the new disk gets, each step's verdict, refusals and notes.
json plan_json(const Node& n, bool dry_run);

// Reads the node and throws -32001 with every refusal (nothing written) unless it may start.
Node replace_check_can_start(const ReplaceRequest& req, const Context& ctx);

// dry_run: the plan (refusals listed, never thrown). Otherwise checks, runs the unfinished steps
// and returns the plan read again afterwards with `done` (what this run did).
json replace_disk(const ReplaceRequest& req, const Context& ctx, const btrfs::ProgressFn& progress = {},
                  btrfs::CancelFlag cancel = nullptr);

}  // namespace mos::engine::replace
