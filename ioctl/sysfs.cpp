#include "ioctl/sysfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "base/error.hpp"
#include "ioctl/fd.hpp"

namespace mos::io {

bool sysfs_exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

std::optional<std::string> sysfs_string(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto not_space = [](unsigned char c) { return !(c == ' ' || c == '\n' || c == '\t' || c == '\r'); };
  out.erase(out.begin(), std::find_if(out.begin(), out.end(), not_space));
  out.erase(std::find_if(out.rbegin(), out.rend(), not_space).base(), out.end());
  return out;
}

std::optional<uint64_t> sysfs_u64(const std::string& path) {
  auto s = sysfs_string(path);
  if (!s || s->empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

void sysfs_write(const std::string& path, const std::string& value) {
  Fd fd = Fd::open(path, O_WRONLY);
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) throw_sys("write", path, errno);
}

}  // namespace mos::io
