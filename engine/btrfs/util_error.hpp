// A libbtrfsutil failure as mos::Error: what was done, the path, the library's text and errno;
// -32002 for a missing subvolume or path, -32001 for one that exists already, else -32000.
#pragma once
#include <btrfsutil.h>

#include <string>

namespace mos::engine::btrfs {

// Reads errno as the failing call left it: call right after the library call.
[[noreturn]] void throw_util(btrfs_util_error err, const std::string& what, const std::string& path);

}  // namespace mos::engine::btrfs
