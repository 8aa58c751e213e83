// RAII file descriptor plus exact positional I/O that retries short transfers and EINTR.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/read_at.hpp"

namespace mos::io {

class Fd final : public ReadAt {
 public:
  Fd() = default;
  Fd(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }

  // open(2) that throws mos::Error naming the path; O_CLOEXEC is always added.
  static Fd open(const std::string& path, int flags, unsigned mode = 0);

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  const std::string& path() const override { return path_; }
  void close();
  int release() { int f = fd_; fd_ = -1; return f; }

  void pread_exact(void* buf, size_t len, uint64_t off) const;
  void pwrite_exact(const void* buf, size_t len, uint64_t off) const;
  std::vector<uint8_t> pread_vec(size_t len, uint64_t off) const;
  // Reads up to len bytes; returns how many (short only at end of file/device).
  size_t pread_some(void* buf, size_t len, uint64_t off) const override;
  void fdatasync() const;
  void fsync() const;

 private:
  int fd_ = -1;
  std::string path_;
};

// Whole small text file (sysfs, procfs); throws on error.
std::string read_text_file(const std::string& path);

}  // namespace mos::io
