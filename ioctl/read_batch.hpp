// Many small positional reads of one descriptor issued together: through io_uring when the
// kernel allows it (the device sees them queued, in any order; one system call per queue, not
// per read), else one pread each. A scan of a few thousand places costs a few queues of round
// trips, not one per place.
#pragma once
#include <cstdint>
#include <memory>
#include <span>

#include "ioctl/fd.hpp"

namespace mos::io {

struct BatchRead {
  uint64_t offset = 0;
  uint32_t length = 0;
  uint8_t* into = nullptr;
  int64_t result = 0;  // bytes read (short at the device end), or -errno
};

class Uring;

// One ring for every batch of a scan (a ring's worker threads are started once, not per batch).
class BatchReader {
 public:
  explicit BatchReader(const Fd& fd);
  ~BatchReader();
  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;

  // Fills every read's result; a failed read is -errno in its result, never an exception.
  void read(std::span<BatchRead> reads);

 private:
  const Fd& fd_;
  std::unique_ptr<Uring> ring_;  // null: io_uring refused, plain preads
};

// One batch with its own reader.
void read_batch(const Fd& fd, std::span<BatchRead> reads);

}  // namespace mos::io
