// Loop devices through /dev/loop-control and LOOP_CONFIGURE (atomic setup incl. sector size,
// direct I/O and read-only), LOOP_SET_CAPACITY, LOOP_CLR_FD. Product code attaches only volume
// images (engine/volumes); tests and the bench attach their own sparse images through the same.
#pragma once
#include <cstdint>
#include <string>

#include "ioctl/fd.hpp"

namespace mos::io {

struct LoopOptions {
  uint32_t sector_size = 0;  // 0 = kernel default (512)
  bool direct_io = false;
  bool read_only = false;
  bool autoclear = false;    // kernel detaches when the last opener closes
  uint64_t offset = 0;       // where the device starts in the backing file (bytes)
  uint64_t size_limit = 0;   // its size in bytes; 0 = to the end of the backing file
};

// Attaches the open backing file to a free loop device (LOOP_CTL_GET_FREE; retries, at most 64
// times, when another process wins the race for the same number) and returns its node path.
// `name` goes into lo_file_name (what LOOP_GET_STATUS64 reports).
std::string loop_attach(const Fd& backing, const std::string& name, const LoopOptions& opts);

// Detach by path (LOOP_CLR_FD), retrying for up to ~2 s while the device is still busy; partitions
// added with BLKPG are deleted first (the kernel keeps them past LOOP_CLR_FD otherwise).
void loop_detach(const std::string& dev_path);

// Tells the loop device its backing file changed size (LOOP_SET_CAPACITY).
void loop_set_capacity(const std::string& dev_path);

// Whether the kernel runs this loop device with direct I/O (/sys/block/loopN/loop/dio).
bool loop_direct_io(const std::string& dev_path);

}  // namespace mos::io
