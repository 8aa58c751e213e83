// Walking a directory path without following symlinks (openat2 RESOLVE_NO_SYMLINKS, see
// openat2(2)): each component is opened beneath the previous one's O_PATH fd, so what we
// return is the directory the names lead to, not where a link an attacker planted points.
#pragma once
#include <string>

#include "ioctl/fd.hpp"

namespace mos::io {

// Opens `relative` (components separated by '/', none "." or "..") beneath `dir` as an O_PATH
// directory fd, creating missing components 0755 when `create`. Throws validation naming the
// component when it is a symlink or not a directory; system errors otherwise.
Fd open_dir_beneath(const Fd& dir, const std::string& relative, bool create);

// "/proc/self/fd/N": a path the kernel resolves to exactly that fd's directory.
std::string fd_path(const Fd& fd);

}  // namespace mos::io
