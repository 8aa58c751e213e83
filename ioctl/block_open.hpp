// The one way a caller-named device node is opened. A name is not a device: it may be a FIFO
// (open blocks for ever), a character device (its open routine runs: a watchdog starts, a tty
// becomes ours), a regular file, or a symlink to any of these. The name is opened
// O_PATH|O_NOFOLLOW first, which runs no driver and blocks on nothing; only when fstat says
// block device is the node opened for real, through /proc/self/fd/N: the same inode, whatever
// the name points to by then.
#pragma once
#include <string>

#include "ioctl/fd.hpp"

namespace mos::io {

// A descriptor of the block device `path` names, opened with `flags` (O_CLOEXEC added); -1 with
// errno set otherwise: ENOTBLK (not a block device, or a symlink leading outside /dev), or the
// errno of the failing open (EBUSY for O_EXCL, ENOENT).
int open_block_fd(const std::string& path, int flags);

// open_block_fd that throws: -32001 naming what the path is when it is not a block device,
// -32002 when it does not exist, the open's error otherwise.
Fd open_block(const std::string& path, int flags);

}  // namespace mos::io
