#include "engine/device_key.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace mos::engine {

std::string device_job_key(const std::string& path) {
  namespace fs = std::filesystem;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return path;
  if (!S_ISBLK(st.st_mode)) {
    std::error_code ec;
    fs::path canonical = fs::canonical(path, ec);
    return ec ? path : canonical.string();
  }
  std::string number = std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev));
  // A partition's sysfs directory sits inside its disk's and has a "partition" attribute.
  std::error_code ec;
  fs::path node = fs::canonical("/sys/dev/block/" + number, ec);
  if (!ec && fs::exists(node / "partition", ec)) {
    std::ifstream disk_dev(node.parent_path() / "dev");
    std::string disk_number;
    if (disk_dev >> disk_number && !disk_number.empty()) number = disk_number;
  }
  std::string key = "block:";
  key += number;
  return key;
}

}  // namespace mos::engine
