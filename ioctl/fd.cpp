#include "ioctl/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "base/error.hpp"

namespace mos::io {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    path_ = std::move(o.path_);
    o.fd_ = -1;
  }
  return *this;
}

Fd Fd::open(const std::string& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_sys("open", path, errno);
  return Fd(fd, path);
}

void Fd::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

size_t Fd::pread_some(void* buf, size_t len, uint64_t off) const {
  size_t done = 0;
  auto* p = static_cast<uint8_t*>(buf);
  while (done < len) {
    ssize_t n = ::pread(fd_, p + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("read", path_, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void Fd::pread_exact(void* buf, size_t len, uint64_t off) const {
  if (pread_some(buf, len, off) != len)
    throw Error(ErrorCode::storage_failed,
                "read " + path_ + ": short read at offset " + std::to_string(off), path_, EIO);
}

std::vector<uint8_t> Fd::pread_vec(size_t len, uint64_t off) const {
  std::vector<uint8_t> v(len);
  pread_exact(v.data(), len, off);
  return v;
}

void Fd::pwrite_exact(const void* buf, size_t len, uint64_t off) const {
  size_t done = 0;
  auto* p = static_cast<const uint8_t*>(buf);
  while (done < len) {
    ssize_t n = ::pwrite(fd_, p + done, len - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", path_, errno);
    }
    if (n == 0) throw Error(ErrorCode::storage_failed, "write " + path_ + ": no progress", path_, EIO);
    done += static_cast<size_t>(n);
  }
}

void Fd::fdatasync() const {
  if (::fdatasync(fd_) < 0) throw_sys("fdatasync", path_, errno);
}

void Fd::fsync() const {
  if (::fsync(fd_) < 0) throw_sys("fsync", path_, errno);
}

std::string read_text_file(const std::string& path) {
  Fd fd = Fd::open(path, O_RDONLY);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace mos::io
