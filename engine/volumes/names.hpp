// Volume names and the names a volume has while it is being built or removed. A name is one
// path component of [A-Za-z0-9_.-]{1,64} that does not start with '.', so it can never be ".",
// "..", a hidden in-progress entry, or address anything outside the volumes directory.
#pragma once
#include <string>

namespace mos::engine::volumes {

inline constexpr size_t kMaxNameLength = 64;
// In-progress entries: built (or being removed) under this prefix, renamed last. list() never
// shows them; sweep_incomplete() removes what a crash left.
inline constexpr const char* kInProgressPrefix = ".mos-inprogress-";

// Throws -32602 (invalid params) naming the rule when `name` is not a volume name.
void require_volume_name(const std::string& name);
bool is_volume_name(const std::string& name);
// A fresh in-progress name for `name` (pid and a per-process counter: unique in this process and
// among concurrent daemons).
std::string in_progress_name(const std::string& name);

}  // namespace mos::engine::volumes
