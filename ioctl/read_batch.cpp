#include "ioctl/read_batch.hpp"

#include <algorithm>
#include <cerrno>

#include "base/error.hpp"
#include "ioctl/uring.hpp"

namespace mos::io {
namespace {

constexpr unsigned kQueueDepth = 64;

void read_one(const Fd& fd, BatchRead& r) {
  try {
    r.result = static_cast<int64_t>(fd.pread_some(r.into, r.length, r.offset));
  } catch (const Error& e) {
    r.result = -(e.sys_errno() ? e.sys_errno() : EIO);
  }
}

}  // namespace

BatchReader::BatchReader(const Fd& fd) : fd_(fd) {
  try {
    ring_ = std::make_unique<Uring>(kQueueDepth);
  } catch (const Error&) {
    // io_uring disabled (sysctl, seccomp): every read the plain way
  }
}

BatchReader::~BatchReader() = default;

void BatchReader::read(std::span<BatchRead> reads) {
  if (!ring_) {
    for (auto& r : reads) read_one(fd_, r);
    return;
  }
  // A queue at a time: queue up to kQueueDepth reads, submit them and wait for them all.
  for (size_t from = 0; from < reads.size(); from += kQueueDepth) {
    const size_t n = std::min<size_t>(kQueueDepth, reads.size() - from);
    for (size_t i = from; i < from + n; ++i) {
      io_uring_sqe* sqe = ring_->next_sqe();
      prep_read(sqe, fd_.get(), reads[i].into, reads[i].length, reads[i].offset, -1);
      io_uring_sqe_set_data64(sqe, i);
    }
    for (size_t done = 0; done < n; ++done) {
      io_uring_cqe* cqe = ring_->peek();
      if (!cqe) cqe = ring_->submit_and_wait_one();
      BatchRead& r = reads[io_uring_cqe_get_data64(cqe)];
      r.result = cqe->res;
      ring_->seen(cqe);
    }
  }
  // A short read before the end (or EAGAIN/EINTR) is finished the plain way.
  for (auto& r : reads)
    if (r.result == -EAGAIN || r.result == -EINTR || (r.result >= 0 && r.result < r.length)) read_one(fd_, r);
}

void read_batch(const Fd& fd, std::span<BatchRead> reads) {
  if (reads.empty()) return;
  BatchReader(fd).read(reads);
}

}  // namespace mos::io
