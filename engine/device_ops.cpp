#include "engine/device_ops.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "engine/format/format.hpp"
#include "engine/policy.hpp"
#include "engine/safety.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "ioctl/block_open.hpp"

namespace mos::engine {

void to_json(json& j, const ZeroResult& r) { j = json{{"device", r.device}, {"bytes_zeroed", r.bytes_zeroed}}; }

void to_json(json& j, const ChecksumResult& r) {
  j = json{{"device", r.device}, {"algo", r.algo}, {"digest", r.digest}, {"bytes", r.bytes}};
}

namespace {

// A detached loop device still opens and reads as 0 bytes, like empty media: both are "not
// found", never an empty success.
void require_present(const std::string& path, uint64_t size) {
  if (size == 0)
    throw Error(ErrorCode::not_found, path + " has no content (size 0): a detached loop device or empty media", path);
}

uint64_t size_now(const std::string& path) {
  try {
    return io::block_facts(io::open_block(path, O_RDONLY)).size_bytes;
  } catch (const Error&) {
    return 0;
  }
}

// Removal is not atomic: reads fail (EIO past the end of a truncated backing file, or from a
// disk being unplugged) a moment before the kernel publishes the new capacity. So after an I/O
// error the size is looked at for a short grace period before the error is taken as a media one.
bool shrank_meanwhile(const std::string& path, uint64_t size) {
  constexpr int kLooks = 10;
  for (int i = 0; i < kLooks; ++i) {
    if (size_now(path) < size) return true;
    if (i + 1 < kLooks) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Runs bulk work over [0, size); an I/O failure on a device that meanwhile shrank or went away
// is reported as -32002 naming what happened.
template <class Work>
auto while_present(const std::string& path, uint64_t size, Work work) {
  try {
    return work();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found || !shrank_meanwhile(path, size)) throw;
    throw Error(ErrorCode::not_found,
                path + " was detached or shrank while in use (" + e.what() + "); nothing more was done", path);
  }
}

}  // namespace

std::string check_zero_allowed(const std::string& device, bool force, const Context& ctx) {
  const std::string path = ctx.policy.judge(device, Access::write);
  require_unused(path, force);
  return path;
}

ZeroResult zero_device(const std::string& device, bool force, const Context& ctx, const BulkOptions& opts) {
  const std::string path = check_zero_allowed(device, force, ctx);
  Device dev = find_device(path, DiscoverOptions{false});
  io::Fd fd = io::open_block(path, O_RDWR | O_EXCL);
  // udev convention: LOCK_EX on the whole-disk node while its content changes.
  io::Fd disk_lock = dev.parent ? io::open_block(*dev.parent, O_RDONLY) : io::Fd();
  if (::flock(disk_lock.valid() ? disk_lock.get() : fd.get(), LOCK_EX) != 0) throw_sys("flock", path, errno);
  io::BlockFacts facts = io::block_facts(fd);
  refuse_read_only(path, facts.read_only);
  require_present(path, facts.size_bytes);
  while_present(path, facts.size_bytes, [&] { zero(fd, 0, facts.size_bytes, opts); return 0; });
  io::blk_flush_buffers(fd);
  fd.close();
  disk_lock.close();
  announce_content_change(dev.name);
  return ZeroResult{find_device(path), facts.size_bytes};
}

std::string check_checksum_allowed(const std::string& device, const Context& ctx) {
  const std::string path = ctx.policy.judge(device, Access::read);
  device_name_from_path(path);  // a block device the kernel knows, not just a path
  io::open_block(path, O_RDONLY);
  return path;
}

ChecksumResult checksum_device(const std::string& device, Algo algo, const Context& ctx, const BulkOptions& opts) {
  const std::string path = check_checksum_allowed(device, ctx);
  io::Fd fd = io::open_block(path, O_RDONLY);
  uint64_t size = io::block_facts(fd).size_bytes;
  require_present(path, size);
  std::string digest = while_present(path, size, [&] { return checksum(fd, 0, size, algo, opts); });
  return ChecksumResult{path, std::string(algo_name(algo)), digest, size};
}

}  // namespace mos::engine
