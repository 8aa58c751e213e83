// Per-version halves of superblock.hpp, shared by super090.cpp, super1.cpp and superblock.cpp.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "mdraid/superblock.hpp"

namespace mos::mdraid::detail {

Superblock parse_super1(std::span<const uint8_t> bytes, uint64_t device_size_bytes);
Superblock parse_super090(std::span<const uint8_t> bytes, uint64_t device_size_bytes);
std::vector<uint8_t> serialize_super1(const Superblock& sb);
std::vector<uint8_t> serialize_super090(const Superblock& sb);

// Dev numbers of a new array's members: active members take their slot, spares the numbers
// after raid_disks in member order (mdadm numbers devices in command-line order, slots first).
std::vector<uint32_t> dev_numbers(const ArraySpec& spec, std::span<const MemberSpec> members);
// Throws a validation error for an unusable spec/member list (roles, counts, name).
void check_spec(const ArraySpec& spec, const Geometry& g, std::span<const MemberSpec> members,
                size_t index);

// The kernel's md checksum: sum of the little-endian 32-bit words of bytes[0, len) with the
// word at skip (the checksum field) taken as 0, a trailing half word added as 16 bits, and
// the carry folded back (low 32 + high 32 bits).
uint32_t folded_word_sum(std::span<const uint8_t> bytes, size_t len, size_t skip);

// Bytes of a bitmap area with this many bits: v1.2 rounds superblock + bits up to 4 KiB
// (calc_bitmap_size), v0.90 always uses the 60 KiB after its superblock.
uint64_t bitmap_space_bytes(Metadata metadata, uint64_t bits);

// The fields every new member's superblock shares, from the spec.
Superblock common_fields(const ArraySpec& spec);

[[noreturn]] void bad_superblock(const char* version, const std::string& what);

}  // namespace mos::mdraid::detail
