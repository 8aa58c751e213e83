#include "engine/bulk.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/policy.hpp"
#include "ioctl/blockdev.hpp"
#include "base/error.hpp"
#include "ioctl/uring.hpp"

namespace mos::engine {

namespace {

constexpr uint64_t kOffloadPiece = 128ull << 20;  // BLKZEROOUT/fallocate step: progress + cancel points
constexpr uint32_t kFileDirectAlign = 4096;       // satisfies O_DIRECT on any file system we meet
constexpr uint64_t kSmallRange = 2ull << 20;      // up to this, synchronous writes beat ring setup

// What we know about the target and the two descriptors we do the work through: an O_DIRECT
// one for the aligned middle, and a buffered one for unaligned edges and the final flush.
struct Target {
  bool block = false;
  uint64_t size = 0;
  uint32_t align = 1;   // O_DIRECT offset/length alignment; 1 when direct I/O is unavailable
  io::Fd direct;        // invalid when the target refuses O_DIRECT
  io::Fd buffered;
};

// A fresh open file description with our own flags (the caller's may be buffered or O_RDONLY).
io::Fd reopen(const io::Fd& fd, int flags) {
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  int nfd = ::open(proc.c_str(), flags | O_CLOEXEC);
  if (nfd < 0 && errno == ENOENT && !fd.path().empty()) nfd = ::open(fd.path().c_str(), flags | O_CLOEXEC);
  if (nfd < 0) throw_sys("open", fd.path(), errno);
  return io::Fd(nfd, fd.path());
}

void validate_options(const BulkOptions& o, const std::string& path) {
  if (o.queue_depth < 1 || o.queue_depth > 1024)
    throw_validation("queue depth " + std::to_string(o.queue_depth) + " is out of range (1..1024)", path);
  if (o.chunk_size < 4096 || o.chunk_size > (64u << 20) || o.chunk_size % 4096)
    throw_validation("chunk size " + std::to_string(o.chunk_size) +
                         " must be a multiple of 4096 between 4 KiB and 64 MiB", path);
}

Target open_target(const io::Fd& fd, uint64_t offset, uint64_t len, bool for_write, const BulkOptions& opts) {
  validate_options(opts, fd.path());
  struct stat st {};
  if (fstat(fd.get(), &st) < 0) throw_sys("fstat", fd.path(), errno);
  Target t;
  t.block = S_ISBLK(st.st_mode);
  if (!t.block && !S_ISREG(st.st_mode))
    throw_validation(fd.path() + " is neither a block device nor a regular file", fd.path());
  if (t.block) {
    io::BlockFacts facts = io::block_facts(fd);
    t.size = facts.size_bytes;
    t.align = facts.logical_sector_size;
    if (for_write) refuse_read_only(fd.path(), facts.read_only);
  } else {
    t.size = static_cast<uint64_t>(st.st_size);
    t.align = kFileDirectAlign;
  }
  if (offset > t.size || len > t.size - offset)
    throw_validation("range [" + std::to_string(offset) + ", " + std::to_string(offset + len) +
                         ") ends beyond the end of " + fd.path() + " (" + std::to_string(t.size) + " bytes)",
                     fd.path());
  int mode = for_write ? O_WRONLY : O_RDONLY;
  t.buffered = reopen(fd, mode);
  try {
    t.direct = reopen(fd, mode | O_DIRECT);
  } catch (const Error& e) {
    if (e.sys_errno() != EINVAL) throw;
    t.align = 1;  // no O_DIRECT here (e.g. some file systems): same pipeline, buffered
  }
  return t;
}

bool cancel_requested(const BulkOptions& o) {
  return (o.cancel && o.cancel->load(std::memory_order_relaxed)) || o.stop.stop_requested();
}

[[noreturn]] void throw_cancelled(const std::string& path) {
  throw Error(ErrorCode::storage_failed, "cancelled", path, ECANCELED);
}

struct Progress {
  const BulkOptions& opts;
  uint64_t total;
  uint64_t done = 0;
  void add(uint64_t n) {
    done += n;
    if (opts.progress) opts.progress(done, total);
  }
};

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }

// Length of the chunk starting at `off`: up to the next chunk_size boundary, so that large
// I/Os stay aligned to their own size on the device.
uint32_t chunk_at(uint64_t off, uint64_t end, uint32_t chunk) {
  uint64_t to_boundary = chunk - off % chunk;
  return static_cast<uint32_t>(std::min(to_boundary, end - off));
}

// The first I/O error of a pipeline; later ones are drained silently, then this is thrown.
struct FirstFailure {
  std::string message;
  int err = 0;
  bool any() const { return !message.empty(); }
  void record(const char* what, const std::string& path, uint64_t off, int res) {
    if (any()) return;
    err = res < 0 ? -res : EIO;  // res 0: the device ended early (it shrank under us)
    message = std::string(what) + " " + path + " at offset " + std::to_string(off) + ": " + std::strerror(err);
  }
  void throw_if_any(const std::string& path) const {
    if (any()) throw Error(ErrorCode::storage_failed, message, path, err);
  }
};

struct Reaped {
  unsigned slot;
  int res;
  bool retry() const { return res == -EAGAIN || res == -EINTR; }
};

Reaped reap_one(io::Uring& ring) {
  io_uring_cqe* cqe = ring.submit_and_wait_one();
  Reaped r{static_cast<unsigned>(io_uring_cqe_get_data64(cqe)), cqe->res};
  ring.seen(cqe);
  return r;
}

// ---- zero -------------------------------------------------------------------------------

void zero_edges_buffered(const Target& t, uint64_t begin, uint64_t end, Progress& prog) {
  static const std::vector<uint8_t> zeros(64 * 1024, 0);
  while (begin < end) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(end - begin, zeros.size()));
    t.buffered.pwrite_exact(zeros.data(), n, begin);
    begin += n;
    prog.add(n);
  }
}

// Small ranges (plans zero many of them): plain O_DIRECT pwrite, because a ring costs a
// kernel worker thread on devices without NOWAIT support (loop) — milliseconds per call.
void zero_direct_small(const Target& t, uint64_t begin, uint64_t end, const BulkOptions& opts, Progress& prog) {
  const io::Fd& fd = t.direct.valid() ? t.direct : t.buffered;
  io::AlignedBuffer zeros(opts.chunk_size, true);
  while (begin < end) {
    if (cancel_requested(opts)) throw_cancelled(t.buffered.path());
    uint32_t n = chunk_at(begin, end, opts.chunk_size);
    fd.pwrite_exact(zeros.data(), n, begin);
    begin += n;
    prog.add(n);
  }
}

// O_DIRECT writes of one shared registered zero buffer, queue_depth in flight, any order.
void zero_direct(const Target& t, uint64_t begin, uint64_t end, const BulkOptions& opts, Progress& prog) {
  const int fd = t.direct.valid() ? t.direct.get() : t.buffered.get();
  io::AlignedBuffer zeros(opts.chunk_size, true);
  io::Uring ring(opts.queue_depth);
  const int buf_index = ring.register_buffers({iovec{zeros.data(), zeros.size()}}) ? 0 : -1;

  struct Slot { uint64_t off = 0; uint32_t len = 0; };
  std::vector<Slot> slots(opts.queue_depth);
  std::vector<unsigned> free_slots;
  for (unsigned i = opts.queue_depth; i-- > 0;) free_slots.push_back(i);
  auto issue = [&](unsigned s) {
    io_uring_sqe* sqe = ring.next_sqe();
    io::prep_write(sqe, fd, zeros.data(), slots[s].len, slots[s].off, buf_index);
    io_uring_sqe_set_data64(sqe, s);
  };

  uint64_t next = begin;
  unsigned in_flight = 0;
  FirstFailure failure;
  bool stopping = false;
  for (;;) {
    stopping = stopping || cancel_requested(opts);
    while (!stopping && !failure.any() && next < end && !free_slots.empty()) {
      unsigned s = free_slots.back();
      free_slots.pop_back();
      slots[s] = {next, chunk_at(next, end, opts.chunk_size)};
      next += slots[s].len;
      issue(s);
      ++in_flight;
    }
    if (in_flight == 0) break;
    Reaped r = reap_one(ring);
    --in_flight;
    Slot& slot = slots[r.slot];
    if (r.retry()) {
      issue(r.slot);
      ++in_flight;
    } else if (r.res <= 0) {
      failure.record("write", t.buffered.path(), slot.off, r.res);
      free_slots.push_back(r.slot);
    } else if (static_cast<uint32_t>(r.res) < slot.len) {  // short write: finish the rest
      prog.add(static_cast<uint64_t>(r.res));
      slot.off += static_cast<uint32_t>(r.res);
      slot.len -= static_cast<uint32_t>(r.res);
      issue(r.slot);
      ++in_flight;
    } else {
      prog.add(slot.len);
      free_slots.push_back(r.slot);
    }
  }
  failure.throw_if_any(t.buffered.path());
  if (stopping) throw_cancelled(t.buffered.path());
}

// Kernel-side zeroing in pieces; false when the target turns out not to support it (nothing
// was zeroed then), so the caller can take the data path.
bool zero_offload(const Target& t, uint64_t begin, uint64_t end, const BulkOptions& opts, Progress& prog) {
  bool first = true;
  while (begin < end) {
    if (cancel_requested(opts)) throw_cancelled(t.buffered.path());
    uint64_t n = std::min(end - begin, kOffloadPiece - begin % kOffloadPiece);
    if (t.block) {
      try {
        io::blk_zeroout(t.buffered, begin, n);
      } catch (const Error& e) {
        if (first && (e.sys_errno() == EOPNOTSUPP || e.sys_errno() == ENOTTY)) return false;
        throw;
      }
    } else if (fallocate(t.buffered.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                         static_cast<off_t>(begin), static_cast<off_t>(n)) < 0) {
      if (first && (errno == EOPNOTSUPP || errno == ENOSYS)) return false;
      throw_sys("fallocate ZERO_RANGE", t.buffered.path(), errno);
    }
    first = false;
    begin += n;
    prog.add(n);
  }
  return true;
}

bool offload_available(const Target& t) {
  if (!t.block) return true;  // probed by the first fallocate call
  auto [maj, min] = io::block_devnum(t.buffered);
  return io::queue_limits(maj, min).write_zeroes_max_bytes > 0;
}

// ---- checksum ---------------------------------------------------------------------------

class Hasher {
 public:
  explicit Hasher(Algo algo) : algo_(algo) {
    if (algo_ == Algo::xxh64) {
      s64_ = XXH64_createState();
      XXH64_reset(s64_, 0);
    } else {
      s3_ = XXH3_createState();
      if (algo_ == Algo::xxh3) XXH3_64bits_reset(s3_); else XXH3_128bits_reset(s3_);
    }
    if (!s64_ && !s3_) throw std::bad_alloc();
  }
  ~Hasher() {
    if (s64_) XXH64_freeState(s64_);
    if (s3_) XXH3_freeState(s3_);
  }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(const void* p, size_t n) {
    if (algo_ == Algo::xxh64) XXH64_update(s64_, p, n);
    else if (algo_ == Algo::xxh3) XXH3_64bits_update(s3_, p, n);
    else XXH3_128bits_update(s3_, p, n);
  }

  // xxhsum prints the canonical (big-endian) representation byte by byte.
  std::string hex_digest() const {
    if (algo_ == Algo::xxh128) {
      XXH128_canonical_t c;
      XXH128_canonicalFromHash(&c, XXH3_128bits_digest(s3_));
      return to_hex(c.digest, sizeof c.digest);
    }
    XXH64_canonical_t c;
    XXH64_canonicalFromHash(&c, algo_ == Algo::xxh64 ? XXH64_digest(s64_) : XXH3_64bits_digest(s3_));
    return to_hex(c.digest, sizeof c.digest);
  }

 private:
  static std::string to_hex(const unsigned char* p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
      s.push_back(digits[p[i] >> 4]);
      s.push_back(digits[p[i] & 15]);
    }
    return s;
  }
  Algo algo_;
  XXH64_state_t* s64_ = nullptr;
  XXH3_state_t* s3_ = nullptr;
};

void hash_buffered(const Target& t, uint64_t begin, uint64_t end, Hasher& h, Progress& prog) {
  std::vector<uint8_t> buf(static_cast<size_t>(std::min<uint64_t>(end - begin, 1u << 20)));
  while (begin < end) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(end - begin, buf.size()));
    t.buffered.pread_exact(buf.data(), n, begin);
    h.update(buf.data(), n);
    begin += n;
    prog.add(n);
  }
}

// O_DIRECT reads, queue_depth in flight; chunk k lands in slot k % depth and is hashed strictly
// in order, its slot reused for chunk k + depth only after that.
void hash_direct(const Target& t, uint64_t begin, uint64_t end, Hasher& h, const BulkOptions& opts,
                 Progress& prog) {
  const int fd = t.direct.valid() ? t.direct.get() : t.buffered.get();
  const unsigned depth = opts.queue_depth;
  io::AlignedBuffer arena(size_t{depth} * opts.chunk_size);
  io::Uring ring(depth);
  std::vector<iovec> iovs(depth);
  for (unsigned i = 0; i < depth; ++i) iovs[i] = {arena.data() + size_t{i} * opts.chunk_size, opts.chunk_size};
  const bool fixed = ring.register_buffers(iovs);

  struct Slot { uint64_t off = 0; uint32_t len = 0; uint32_t filled = 0; bool busy = false; };
  std::vector<Slot> slots(depth);
  auto issue = [&](unsigned s) {
    Slot& sl = slots[s];
    io_uring_sqe* sqe = ring.next_sqe();
    io::prep_read(sqe, fd, arena.data() + size_t{s} * opts.chunk_size + sl.filled, sl.len - sl.filled,
                  sl.off + sl.filled, fixed ? static_cast<int>(s) : -1);
    io_uring_sqe_set_data64(sqe, s);
  };

  uint64_t next = begin;
  uint64_t issued = 0, hashed = 0;  // chunk sequence numbers
  unsigned in_flight = 0;
  FirstFailure failure;
  bool stopping = false;
  for (;;) {
    stopping = stopping || cancel_requested(opts);
    while (!stopping && !failure.any() && next < end && issued - hashed < depth) {
      unsigned s = static_cast<unsigned>(issued % depth);
      slots[s] = {next, chunk_at(next, end, opts.chunk_size), 0, true};
      next += slots[s].len;
      issue(s);
      ++issued;
      ++in_flight;
    }
    if (in_flight == 0) break;
    Reaped r = reap_one(ring);
    --in_flight;
    Slot& sl = slots[r.slot];
    if (r.retry()) {
      issue(r.slot);
      ++in_flight;
      continue;
    }
    if (r.res <= 0) {
      failure.record("read", t.buffered.path(), sl.off + sl.filled, r.res);
      continue;
    }
    sl.filled += static_cast<uint32_t>(r.res);
    if (sl.filled < sl.len) {  // short read: fetch the rest into the same slot
      issue(r.slot);
      ++in_flight;
      continue;
    }
    sl.busy = false;
    while (!failure.any() && hashed < issued && !slots[hashed % depth].busy) {
      const Slot& done = slots[hashed % depth];
      h.update(arena.data() + size_t(hashed % depth) * opts.chunk_size, done.len);
      prog.add(done.len);
      ++hashed;
    }
  }
  failure.throw_if_any(t.buffered.path());
  if (stopping) throw_cancelled(t.buffered.path());
}

}  // namespace

Algo parse_algo(std::string_view name) {
  if (name == "xxh64") return Algo::xxh64;
  if (name == "xxh3") return Algo::xxh3;
  if (name == "xxh128") return Algo::xxh128;
  throw_validation("unknown checksum algorithm '" + std::string(name) + "' (choose xxh64, xxh3 or xxh128)");
}

std::string_view algo_name(Algo algo) {
  switch (algo) {
    case Algo::xxh64: return "xxh64";
    case Algo::xxh3: return "xxh3";
    case Algo::xxh128: return "xxh128";
  }
  return "?";
}

void zero(const io::Fd& fd, uint64_t offset, uint64_t len, const BulkOptions& opts) {
  Target t = open_target(fd, offset, len, true, opts);
  Progress prog{opts, len};
  if (opts.progress) opts.progress(0, len);
  if (len == 0) return;
  const uint64_t end = offset + len;

  if (opts.allow_offload && offload_available(t)) {
    // Files zero byte-exact ranges themselves; block devices need logical-sector alignment.
    uint64_t mb = t.block ? align_up(offset, t.align) : offset;
    uint64_t me = t.block ? align_down(end, t.align) : end;
    if (mb < me) {
      BulkOptions quiet = opts;
      quiet.progress = nullptr;  // a refused first piece must not report progress
      Progress trial{quiet, len};
      if (zero_offload(t, mb, mb + std::min(me - mb, kOffloadPiece - mb % kOffloadPiece), quiet, trial)) {
        zero_edges_buffered(t, offset, mb, prog);
        prog.add(trial.done);
        zero_offload(t, mb + trial.done, me, opts, prog);
        zero_edges_buffered(t, me, end, prog);
        if (opts.flush) t.buffered.fdatasync();
        return;
      }
    }
  }

  uint64_t mb = align_up(offset, t.align), me = align_down(end, t.align);
  if (mb >= me) {
    zero_edges_buffered(t, offset, end, prog);
  } else {
    zero_edges_buffered(t, offset, mb, prog);
    zero_edges_buffered(t, me, end, prog);
    if (me - mb <= kSmallRange) zero_direct_small(t, mb, me, opts, prog);
    else zero_direct(t, mb, me, opts, prog);
  }
  if (opts.flush) t.buffered.fdatasync();
}

std::string checksum(const io::Fd& fd, uint64_t offset, uint64_t len, Algo algo, const BulkOptions& opts) {
  Target t = open_target(fd, offset, len, false, opts);
  Hasher h(algo);
  Progress prog{opts, len};
  if (opts.progress) opts.progress(0, len);
  const uint64_t end = offset + len;
  uint64_t mb = align_up(offset, t.align), me = align_down(end, t.align);
  if (mb >= me) {
    hash_buffered(t, offset, end, h, prog);
  } else {
    hash_buffered(t, offset, mb, h, prog);
    hash_direct(t, mb, me, h, opts, prog);
    hash_buffered(t, me, end, h, prog);
  }
  return h.hex_digest();
}

ZeroFn bulk_zero_fn(BulkOptions opts) {
  opts.flush = false;
  return [opts = std::move(opts)](const io::Fd& fd, uint64_t offset, uint64_t len) { zero(fd, offset, len, opts); };
}

}  // namespace mos::engine
