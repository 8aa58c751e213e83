#include "fsmake/probe/source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <new>

#include "ioctl/read_batch.hpp"

namespace mos::fsmake {
namespace {

// Starts reading [off, off+len) into the page cache without waiting: both windows are then
// in flight at once (one device round trip, not one per read); what is cached already (the
// last writer's pages) is not read again. Advice only: a device that ignores it is read below.
void prefetch(const io::Fd& fd, uint64_t off, uint64_t len) {
  (void)::posix_fadvise(fd.get(), static_cast<off_t>(off), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
}

// Window buffers come from a small free list: a fresh 1.5 MiB buffer costs a page fault per
// page when first read into (about 1 ms on a virtual machine, several times the read itself);
// one that was used before is warm. At most kPooled buffers are kept (3 MiB); more
// concurrent sources allocate and free as usual.
constexpr size_t kPooled = 2;
constexpr size_t kCapacity =
    static_cast<size_t>((std::max(ProbeSource::kHeadWindow, ProbeSource::kTailWindow) + ProbeSource::kAlign - 1) /
                        ProbeSource::kAlign * ProbeSource::kAlign);

struct BufferPool {
  std::mutex mutex;
  std::vector<uint8_t*> free;
};

BufferPool& pool() {
  static BufferPool* p = new BufferPool;  // never destroyed: sources may outlive static destruction
  return *p;
}

uint8_t* take_buffer() {
  {
    std::lock_guard lock(pool().mutex);
    if (!pool().free.empty()) {
      uint8_t* b = pool().free.back();
      pool().free.pop_back();
      return b;
    }
  }
  return static_cast<uint8_t*>(::operator new[](kCapacity, std::align_val_t{ProbeSource::kAlign}));
}

}  // namespace

void ProbeSource::Window::Free::operator()(uint8_t* p) const {
  {
    std::lock_guard lock(pool().mutex);
    if (pool().free.size() < kPooled) {
      pool().free.push_back(p);
      return;
    }
  }
  ::operator delete[](p, std::align_val_t{kAlign});
}

ProbeSource::ProbeSource(const io::Fd& fd, uint64_t size, uint32_t sector_size, Read read, uint64_t base)
    : fd_(&fd), base_(base), size_(size), sector_size_(sector_size ? sector_size : 512) {
  uint64_t head_len = std::min(size, kHeadWindow);
  init_window(head_, 0, head_len);
  if (size > head_len) {
    uint64_t tail_off = size - std::min(size - head_len, kTailWindow);
    init_window(tail_, tail_off, size - tail_off);
  }
  direct_ = read == Read::whole;
  if (direct_ && head_len && read_direct(head_) && (!tail_.len || read_direct(tail_))) return;
  if (head_.state.empty() || head_.state[0] == 0) prefetch(fd, base_, head_len);
  if (tail_.len) prefetch(fd, base_ + tail_.off, tail_.len);
}

std::optional<size_t> ProbeSource::pread_direct(uint8_t* buf, uint64_t len, uint64_t off) {
  // O_DIRECT wants offset, length and buffer aligned to the logical block size: callers pass
  // page-aligned buffers and sector-aligned ranges.
  if ((base_ + off) % sector_size_ || len % sector_size_ || sector_size_ > kAlign) return std::nullopt;
  const int flags = ::fcntl(fd_->get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd_->get(), F_SETFL, flags | O_DIRECT) != 0) return std::nullopt;
  std::optional<size_t> got;
  try {
    got = fd_->pread_some(buf, static_cast<size_t>(len), base_ + off);
  } catch (const std::exception&) {
    // an unreadable sector, or alignment refused: the caller reads the buffered way
  }
  ::fcntl(fd_->get(), F_SETFL, flags);
  return got;
}

bool ProbeSource::read_direct(Window& w) {
  const uint64_t len = (w.len + sector_size_ - 1) / sector_size_ * sector_size_;
  auto got = pread_direct(w.buf.get(), len, w.off);
  if (!got) return false;
  const uint64_t have = std::min<uint64_t>(*got, w.len);
  ++window_reads_;
  window_bytes_ += have;
  for (size_t k = 0; k < w.state.size(); ++k)
    if (std::min(w.len, uint64_t{k + 1} * kSegment) <= have) w.state[k] = 1;
  return have == w.len;
}

ProbeSource::ProbeSource(std::span<const uint8_t> image, uint32_t sector_size)
    : size_(image.size()), sector_size_(sector_size ? sector_size : 512), image_(image) {}

void ProbeSource::init_window(Window& w, uint64_t off, uint64_t len) {
  w.off = off;
  w.len = len;
  // Every window fits one pooled buffer (rounded up to whole pages, so an O_DIRECT read of the
  // last partial sector has room); a fresh one stays untouched until read.
  w.buf.reset(take_buffer());
  w.state.assign(static_cast<size_t>((len + kSegment - 1) / kSegment), 0);
}

std::span<const uint8_t> ProbeSource::from_window(Window& w, uint64_t off, uint64_t len) {
  const uint64_t rel = off - w.off;
  size_t first = static_cast<size_t>(rel / kSegment);
  const size_t last = static_cast<size_t>((rel + std::max<uint64_t>(len, 1) - 1) / kSegment);
  while (first <= last) {
    if (w.state[first] == 2) return {};
    if (w.state[first] == 1) {
      ++first;
      continue;
    }
    size_t end = first;  // [first, end] is one run of missing segments: one read
    while (end + 1 <= last && w.state[end + 1] == 0) ++end;
    const uint64_t from = uint64_t{first} * kSegment;
    const uint64_t n = std::min(w.len, uint64_t{end + 1} * kSegment) - from;
    size_t got = 0;
    try {
      got = fd_->pread_some(w.buf.get() + from, static_cast<size_t>(n), base_ + w.off + from);
    } catch (const std::exception&) {
      got = 0;  // an unreadable sector means "no signature here", as in libblkid
    }
    ++window_reads_;
    window_bytes_ += got;
    for (size_t k = first; k <= end; ++k)
      w.state[k] = uint64_t{k + 1} * kSegment <= got + from || (got == n && k == end) ? 1 : 2;
    first = end + 1;
  }
  return {w.buf.get() + rel, static_cast<size_t>(len)};
}

std::span<const uint8_t> ProbeSource::get(uint64_t off, uint64_t len) {
  if (off > size_ || len > size_ - off) return {};
  if (!fd_) return image_.subspan(off, len);
  if (len == 0) return {};
  if (auto in_window = window_bytes(off, len); !in_window.empty()) return in_window;
  if (off + len <= head_.len || (tail_.len && off >= tail_.off && off + len - tail_.off <= tail_.len))
    return {};  // inside a window, unreadable
  if (len > kMaxExtraRead) return {};
  for (auto& [eoff, e] : extras_)  // probers often ask twice (magic check, then parse)
    if (off >= eoff && off + len - eoff <= e.size())
      return std::span<const uint8_t>(e).subspan(off - eoff, len);
  std::vector<uint8_t> buf(len);
  if (!read_extra_direct(buf.data(), len, off)) {
    try {
      if (fd_->pread_some(buf.data(), len, base_ + off) != len) return {};
    } catch (const std::exception&) {
      return {};  // an unreadable sector means "no signature here", as in libblkid
    }
  }
  ++extra_reads_;
  extras_.emplace_back(off, std::move(buf));
  return extras_.back().second;
}

void ProbeSource::read_ahead(std::span<const std::pair<uint64_t, uint64_t>> ranges) {
  if (!fd_) return;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> fetched;
  fetched.reserve(ranges.size());
  std::vector<io::BatchRead> reads;
  for (auto [off, len] : ranges) {
    if (len == 0 || len > kMaxExtraRead || off > size_ || len > size_ - off) continue;
    if (off + len <= head_.len || (tail_.len && off + len > tail_.off && off < tail_.off + tail_.len)) continue;
    fetched.emplace_back(off, std::vector<uint8_t>(len));
    reads.push_back({base_ + off, static_cast<uint32_t>(len), fetched.back().second.data(), 0});
  }
  io::read_batch(*fd_, reads);
  for (size_t i = 0; i < reads.size(); ++i) {
    if (reads[i].result != static_cast<int64_t>(reads[i].length)) continue;  // get() reads it again
    ++extra_reads_;
    extras_.push_back(std::move(fetched[i]));
  }
}

std::span<const uint8_t> ProbeSource::window_bytes(uint64_t off, uint64_t len) {
  if (!fd_ || len == 0 || off > size_ || len > size_ - off) return {};
  if (off + len <= head_.len) return from_window(head_, off, len);
  if (tail_.len && off >= tail_.off && off + len - tail_.off <= tail_.len) return from_window(tail_, off, len);
  return {};
}

bool ProbeSource::read_extra_direct(uint8_t* out, uint64_t len, uint64_t off) {
  // Read::whole: a small extra (a btrfs mirror's block) without readahead through the page cache.
  if (!direct_ || len > kMaxExtraRead) return false;
  const uint64_t from = off / kAlign * kAlign;
  const uint64_t to = std::min(size_, (off + len + kAlign - 1) / kAlign * kAlign);
  if (to < off + len) return false;
  const uint64_t n = (to - from + sector_size_ - 1) / sector_size_ * sector_size_;
  std::unique_ptr<uint8_t, Window::Free> bounce(take_buffer());
  auto got = pread_direct(bounce.get(), n, from);
  if (!got || *got < off + len - from) return false;
  std::memcpy(out, bounce.get() + (off - from), static_cast<size_t>(len));
  return true;
}

template <class Fn>
void ProbeSource::patch(uint64_t off, uint64_t len, Fn fn) {
  // A segment the write covers whole is known now; one it covers in part and never read is
  // read later from the device, which holds the written bytes by then.
  for (Window* w : {&head_, &tail_}) {
    uint64_t from = std::max(off, w->off), to = std::min(off + len, w->off + w->len);
    if (from >= to) continue;
    fn(w->buf.get() + (from - w->off), from, to - from);
    for (size_t k = static_cast<size_t>((from - w->off + kSegment - 1) / kSegment); k < w->state.size(); ++k) {
      uint64_t seg_end = std::min(w->len, uint64_t{k + 1} * kSegment) + w->off;
      if (seg_end > to) break;
      w->state[k] = 1;
    }
  }
  extras_.erase(std::remove_if(extras_.begin(), extras_.end(),
                               [&](const auto& e) { return e.first < off + len && off < e.first + e.second.size(); }),
                extras_.end());
}

void ProbeSource::written(uint64_t off, std::span<const uint8_t> bytes) {
  if (!fd_) return;  // an image source is the caller's own memory
  patch(off, bytes.size(), [&](uint8_t* dst, uint64_t at, uint64_t n) { std::memcpy(dst, bytes.data() + (at - off), n); });
}

void ProbeSource::zeroed(uint64_t off, uint64_t len) {
  if (!fd_) return;
  patch(off, len, [](uint8_t* dst, uint64_t, uint64_t n) { std::memset(dst, 0, n); });
}

}  // namespace mos::fsmake
