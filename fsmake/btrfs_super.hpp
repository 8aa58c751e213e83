// Reads one btrfs superblock copy back: the product's only btrfs reader (mos_sysvol checks the
// fsid of MOSDATA with it). The test-side tree reader is fsmake/readers/btrfs_read.hpp.
#pragma once
#include <cstdint>
#include <vector>

#include "fsmake/btrfs_structs.hpp"

namespace mos::fsmake::btrfs {

// Parses and checks a superblock copy (magic, checksum, bytenr). Throws mos::Error(validation).
SuperBlock parse_super(const std::vector<uint8_t>& bytes, uint64_t expected_bytenr);

}  // namespace mos::fsmake::btrfs
