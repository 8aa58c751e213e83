// The steps of a disk replacement, each doing only what the judge says is unfinished and clearing
// its partition's record once the disks prove it done (engine/replace/steps.cpp).
#pragma once
#include <string>
#include <vector>

#include "engine/btrfs/fs.hpp"
#include "engine/replace/node.hpp"

namespace mos::engine::replace {

// progress(done, total): the step's index * 1000 + its own permille, of 6000.
// Crash points: replace:after-gpt, replace:after-md, replace:during-btrfs (the replace started),
// replace:after-btrfs, replace:after-balance. Returns one line per thing done.
std::vector<std::string> run_steps(const Node& n, const Context& ctx, const btrfs::ProgressFn& progress,
                                   btrfs::CancelFlag cancel);

}  // namespace mos::engine::replace
