#include "ioctl/uring.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include "base/error.hpp"

namespace mos::io {

namespace {
constexpr size_t kPageAlign = 4096;
}

AlignedBuffer::AlignedBuffer(size_t size, bool zeroed) : size_(size) {
  size_t rounded = (size + kPageAlign - 1) / kPageAlign * kPageAlign;
  data_ = static_cast<uint8_t*>(std::aligned_alloc(kPageAlign, rounded ? rounded : kPageAlign));
  if (!data_) throw std::bad_alloc();
  if (zeroed) std::memset(data_, 0, rounded);
}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& o) noexcept {
  if (this != &o) {
    std::free(data_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

Uring::Uring(unsigned entries) {
  int rc = io_uring_queue_init(entries, &ring_, 0);
  if (rc < 0) {
    if (rc == -EPERM || rc == -ENOSYS)
      throw Error(ErrorCode::storage_failed,
                  std::string("io_uring_setup: ") + std::strerror(-rc) +
                      " (io_uring is disabled: check sysctl kernel.io_uring_disabled)",
                  {}, -rc);
    throw_sys("io_uring_setup", {}, -rc);
  }
}

// Registered buffers go with the ring: an explicit unregister would wait for an RCU grace
// period (milliseconds), while ring teardown releases them asynchronously.
Uring::~Uring() { io_uring_queue_exit(&ring_); }

bool Uring::register_buffers(const std::vector<iovec>& bufs) {
  if (registered_ || bufs.empty()) return registered_;
  registered_ = io_uring_register_buffers(&ring_, bufs.data(), static_cast<unsigned>(bufs.size())) == 0;
  return registered_;
}

io_uring_sqe* Uring::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    submit();
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) throw Error(ErrorCode::internal, "io_uring submission queue stays full", {}, EBUSY);
  return sqe;
}

unsigned Uring::submit() {
  for (;;) {
    int rc = io_uring_submit(&ring_);
    if (rc >= 0) return static_cast<unsigned>(rc);
    if (rc != -EINTR && rc != -EAGAIN) throw_sys("io_uring_enter", {}, -rc);
  }
}

io_uring_cqe* Uring::submit_and_wait_one() {
  for (;;) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) throw_sys("io_uring_enter", {}, -rc);
    rc = io_uring_peek_cqe(&ring_, &cqe);
    if (rc == 0 && cqe) return cqe;
    if (rc != -EAGAIN && rc != -EINTR) throw_sys("io_uring_wait_cqe", {}, -rc);
  }
}

io_uring_cqe* Uring::peek() {
  io_uring_cqe* cqe = nullptr;
  return io_uring_peek_cqe(&ring_, &cqe) == 0 ? cqe : nullptr;
}

void prep_read(io_uring_sqe* sqe, int fd, void* buf, uint32_t len, uint64_t off, int buf_index) {
  if (buf_index >= 0)
    io_uring_prep_read_fixed(sqe, fd, buf, len, off, buf_index);
  else
    io_uring_prep_read(sqe, fd, buf, len, off);
}

void prep_write(io_uring_sqe* sqe, int fd, const void* buf, uint32_t len, uint64_t off, int buf_index) {
  if (buf_index >= 0)
    io_uring_prep_write_fixed(sqe, fd, buf, len, off, buf_index);
  else
    io_uring_prep_write(sqe, fd, buf, len, off);
}

}  // namespace mos::io
