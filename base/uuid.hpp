// The one source of random identifiers: filesystem, md array and member, GPT disk and partition
// UUIDs are all RFC 4122 version 4 (libuuid's uuid_generate_random, never the time-based kind).
#pragma once
#include <array>
#include <cstdint>

namespace mos {

using Uuid = std::array<uint8_t, 16>;

// 16 random bytes with the version-4 and variant bits set, in text order (as blkid prints them).
Uuid random_uuid();

}  // namespace mos
