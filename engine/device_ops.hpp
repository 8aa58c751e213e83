// Whole-device bulk operations users ask for: zero a device (storage.zero) and checksum it
// (storage.checksum), both through the io_uring bulk engine with progress and cancellation.
#pragma once
#include <cstdint>
#include <string>

#include "engine/bulk.hpp"
#include "engine/context.hpp"
#include "engine/inventory/devices.hpp"
#include "engine/json.hpp"

namespace mos::engine {

struct ZeroResult {
  Device device;  // after zeroing
  uint64_t bytes_zeroed = 0;
};
void to_json(json& j, const ZeroResult& r);

struct ChecksumResult {
  std::string device;
  std::string algo;
  std::string digest;  // lowercase hex, as xxhsum prints it
  uint64_t bytes = 0;
};
void to_json(json& j, const ChecksumResult& r);

// The checks zeroing makes before writing (policy, mounted/held, signature unless force);
// lets callers refuse at once before starting a background job. Returns /dev/NAME.
std::string check_zero_allowed(const std::string& device, bool force, const Context& ctx);
// Zeroes every byte of the device under an exclusive open, then drops its page cache and
// tells udev. opts carries progress and cancellation.
ZeroResult zero_device(const std::string& device, bool force, const Context& ctx, const BulkOptions& opts = {});

// Resolves and opens the device (read-only); -32002 when absent. Returns /dev/NAME.
std::string check_checksum_allowed(const std::string& device, const Context& ctx);
ChecksumResult checksum_device(const std::string& device, Algo algo, const Context& ctx, const BulkOptions& opts = {});

}  // namespace mos::engine
