// Thin RAII over liburing: one ring, optional registered buffers, and submit/reap helpers that
// turn kernel errors into mos::Error. Policy (what to read/write, in which order) lives in the
// engine; this only owns the ring and page-aligned memory.
#pragma once
#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mos::io {

// Page-aligned heap memory, as O_DIRECT and registered buffers want it.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t size, bool zeroed = false);
  AlignedBuffer(AlignedBuffer&& o) noexcept : data_(o.data_), size_(o.size_) { o.data_ = nullptr; o.size_ = 0; }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

class Uring {
 public:
  // io_uring_queue_init with `entries` submission slots; throws (with a hint when io_uring is
  // disabled by kernel.io_uring_disabled or seccomp) on failure.
  explicit Uring(unsigned entries);
  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Registers buffers for *_FIXED ops. Returns false (and leaves none registered) when the
  // kernel refuses, e.g. RLIMIT_MEMLOCK: callers then fall back to plain READ/WRITE.
  bool register_buffers(const std::vector<iovec>& bufs);

  // A free submission entry; submits pending ones first if the queue is full.
  io_uring_sqe* next_sqe();
  // Submits everything queued; returns how many the kernel took.
  unsigned submit();
  // Submits queued entries and waits for at least one completion; returns it (never null).
  io_uring_cqe* submit_and_wait_one();
  // A completion already there, without a system call; nullptr when none.
  io_uring_cqe* peek();
  void seen(io_uring_cqe* cqe) { io_uring_cqe_seen(&ring_, cqe); }

 private:
  io_uring ring_{};
  bool registered_ = false;
};

// Queues a positional read or write of [buf, buf+len) at file offset `off`; uses the fixed
// variant when `buf_index` >= 0 (buffer registered at that index).
void prep_read(io_uring_sqe* sqe, int fd, void* buf, uint32_t len, uint64_t off, int buf_index);
void prep_write(io_uring_sqe* sqe, int fd, const void* buf, uint32_t len, uint64_t off, int buf_index);

}  // namespace mos::io
