// Reading sysfs attributes: missing attributes are "no value", never an exception.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mos::io {

bool sysfs_exists(const std::string& path);
// Attribute text with the trailing newline (and surrounding blanks) removed.
std::optional<std::string> sysfs_string(const std::string& path);
std::optional<uint64_t> sysfs_u64(const std::string& path);
// Names in a directory (no "." or ".."), sorted; empty when it does not exist.
std::vector<std::string> list_dir(const std::string& path);
// Target of a symlink, or nullopt.
std::optional<std::string> read_link(const std::string& path);
// Writes a value to an attribute (e.g. "change" to uevent); throws on error.
void sysfs_write(const std::string& path, const std::string& value);

}  // namespace mos::io
