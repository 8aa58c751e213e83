#include "tests/vm/cpio.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>
#include <stdexcept>

namespace mos::vmtest {

namespace {

void pad4(std::string& s) {
  while (s.size() % 4) s.push_back('\0');
}

std::string read_host_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string strip_slash(const std::string& path) { return path.starts_with("/") ? path.substr(1) : path; }

}  // namespace

void CpioWriter::add_parents(const std::string& path) {
  std::string rel = strip_slash(path);
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
    std::string dir = std::string("/").append(rel, 0, slash);  // not "/" + string: GCC 12 -O3 false -Wrestrict
    if (!dirs_.count(dir)) add_dir(dir);
  }
}

void CpioWriter::add_entry(const std::string& path, uint32_t mode, const std::string& data, uint32_t rdev_major,
                           uint32_t rdev_minor) {
  std::string name = strip_slash(path);
  char header[111];
  std::snprintf(header, sizeof header, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
                next_ino_++, mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, static_cast<uint32_t>(data.size()), 0u,
                0u, rdev_major, rdev_minor, static_cast<uint32_t>(name.size() + 1), 0u);
  archive_.append(header, 110);
  archive_.append(name);
  archive_.push_back('\0');
  pad4(archive_);
  archive_.append(data);
  pad4(archive_);
  if (name != "TRAILER!!!") paths_.push_back("/" + name);
}

void CpioWriter::add_dir(const std::string& path, uint32_t mode) {
  if (dirs_.count(path)) return;
  add_parents(path);
  dirs_.insert(path);
  add_entry(path, S_IFDIR | mode, {});
}

void CpioWriter::add_file(const std::string& path, const std::string& data, uint32_t mode) {
  add_parents(path);
  add_entry(path, S_IFREG | mode, data);
}

void CpioWriter::add_host_file(const std::string& path, const std::string& host_path, uint32_t mode) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) throw std::runtime_error("cannot stat " + host_path);
  add_file(path, read_host_file(host_path), mode ? mode : (st.st_mode & 07777));
}

void CpioWriter::add_char_device(const std::string& path, uint32_t major, uint32_t minor, uint32_t mode) {
  add_parents(path);
  add_entry(path, S_IFCHR | mode, {}, major, minor);
}

uint64_t CpioWriter::write(const std::string& out_path) {
  add_entry("TRAILER!!!", 0, {});  // the writer is used once
  std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
  f.write(archive_.data(), static_cast<std::streamsize>(archive_.size()));
  if (!f) throw std::runtime_error("cannot write " + out_path);
  return archive_.size();
}

std::vector<CpioEntry> list_cpio(const std::string& archive_path) {
  std::string a = read_host_file(archive_path);
  std::vector<CpioEntry> entries;
  size_t pos = 0;
  auto field = [&](size_t at, int index) {
    return static_cast<uint32_t>(std::stoul(a.substr(at + 6 + 8 * index, 8), nullptr, 16));
  };
  while (pos + 110 <= a.size()) {
    if (a.compare(pos, 6, "070701") != 0) throw std::runtime_error("bad cpio magic in " + archive_path);
    uint32_t mode = field(pos, 1), size = field(pos, 6), namesize = field(pos, 11);
    if (pos + 110 + namesize > a.size()) throw std::runtime_error("truncated cpio " + archive_path);
    std::string name = a.substr(pos + 110, namesize - 1);
    pos += 110 + namesize;
    pos = (pos + 3) & ~size_t{3};
    pos += size;
    pos = (pos + 3) & ~size_t{3};
    if (name == "TRAILER!!!") break;
    entries.push_back({"/" + name, mode, size});
  }
  return entries;
}

}  // namespace mos::vmtest
