// Labels of filesystems whose label is plain bytes (swap, ext4, btrfs): a byte limit and no
// control characters, so the label a caller later looks up is the one on disk. FAT has its own
// character set (fat32::validate_label).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mos::fsmake {

// Throws Error(validation) naming the filesystem, the limit or the position of the bad character.
void validate_label(std::string_view fstype, const std::string& label, size_t max_bytes);

// Error texts count what they name: "N bytes", with "(M characters)" when UTF-8 makes them differ.
std::string label_length_text(const std::string& label);
// "position C" (the character the byte at byte_index belongs to, from 1), with "(byte B)" when
// the two differ.
std::string label_position_text(const std::string& label, size_t byte_index);

}  // namespace mos::fsmake
