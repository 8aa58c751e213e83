// A writer for cpio "newc" archives (the initramfs format: Documentation/driver-api/early-userspace
// /buffer-format.rst): 110-byte ASCII header, NUL-terminated name, both padded to 4 bytes, then
// the data padded to 4; "TRAILER!!!" ends it. Parent directories are emitted automatically.
// Tests-only code: the guest image for the VM tests.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace mos::vmtest {

class CpioWriter {
 public:
  // Paths are absolute guest paths ("/bin/mos_sysvol"); stored without the leading '/'.
  void add_file(const std::string& path, const std::string& data, uint32_t mode = 0644);
  void add_host_file(const std::string& path, const std::string& host_path, uint32_t mode = 0);
  void add_dir(const std::string& path, uint32_t mode = 0755);
  void add_char_device(const std::string& path, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  // Appends the trailer and writes the archive; returns its size.
  uint64_t write(const std::string& out_path);
  // Every path added, in archive order ("/init", "/lib/modules/...").
  const std::vector<std::string>& paths() const { return paths_; }

 private:
  void add_parents(const std::string& path);
  void add_entry(const std::string& path, uint32_t mode, const std::string& data, uint32_t rdev_major = 0,
                 uint32_t rdev_minor = 0);

  std::string archive_;
  std::vector<std::string> paths_;
  std::set<std::string> dirs_;
  uint32_t next_ino_ = 1;
};

// Parses a newc archive back into (path, mode, size) records: used by tests to list the image.
struct CpioEntry {
  std::string path;
  uint32_t mode = 0;
  uint64_t size = 0;
};
std::vector<CpioEntry> list_cpio(const std::string& archive_path);

}  // namespace mos::vmtest
