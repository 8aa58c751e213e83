// Bulk I/O over io_uring: zero a byte range and checksum a byte range of a block device or
// regular file at device speed (O_DIRECT, deep queue, large aligned chunks; unaligned heads and
// tails through the page cache). Used by writers' plans (bulk_zero_fn) and exposed to users.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>

#include "engine/apply_plan.hpp"
#include "ioctl/fd.hpp"

namespace mos::engine {

// xxHash flavours with the digests `xxhsum -H1` (xxh64), `-H3` (xxh3, 64-bit), `-H2` (xxh128) print.
enum class Algo { xxh64, xxh3, xxh128 };
// "xxh64" | "xxh3" | "xxh128"; anything else is a validation error (-32001) naming the choices.
Algo parse_algo(std::string_view name);
std::string_view algo_name(Algo algo);

struct BulkOptions {
  // Called with (bytes done, total) as work completes; the last call has done == total.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Either flag stops the work: in-flight I/O is drained, then mos::Error "cancelled" is thrown.
  const std::atomic<bool>* cancel = nullptr;
  std::stop_token stop;
  unsigned queue_depth = 32;        // I/Os in flight
  uint32_t chunk_size = 1u << 20;   // bytes per I/O, multiple of 4096
  bool allow_offload = true;        // BLKZEROOUT / fallocate(ZERO_RANGE) when the target offers it
  bool flush = true;                // zero ends with fdatasync (plans flush per step themselves)
};

// Zeroes [offset, offset+len). Offload when the device reports write-zeroes support
// (queue/write_zeroes_max_bytes > 0) or the file system supports ZERO_RANGE, else O_DIRECT
// writes of one registered zero buffer. Bytes outside the range are never touched. Ends with
// fdatasync unless opts.flush is false. The range must lie inside the device or file (validation error otherwise).
void zero(const io::Fd& fd, uint64_t offset, uint64_t len, const BulkOptions& opts = {});

// xxHash of [offset, offset+len) as lowercase hex, exactly as xxhsum prints it.
std::string checksum(const io::Fd& fd, uint64_t offset, uint64_t len, Algo algo, const BulkOptions& opts = {});

// A ZeroFn for apply_plan that zeroes plan ranges with the bulk engine (without the per-range
// flush: apply_plan flushes after every step).
ZeroFn bulk_zero_fn(BulkOptions opts = {});

}  // namespace mos::engine
