// Labels of filesystems whose label is plain bytes (swap, ext4, btrfs): a byte limit and no
// control characters, so the label a caller later looks up is the one on disk. FAT has its own
// character set (fat32::validate_label).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mos::fsmake {

// Throws Error(validation) naming the filesystem, the limit or the position of the bad byte.
void validate_label(std::string_view fstype, const std::string& label, size_t max_bytes);

}  // namespace mos::fsmake
