#include "fsmake/probe_source.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mos::fsmake {
namespace {

// Starts reading [off, off+len) into the page cache without waiting: both windows are then
// in flight at once (one device round trip, not one per read); what is cached already (the
// last writer's pages) is not read again. Advice only: a device that ignores it is read below.
void prefetch(const io::Fd& fd, uint64_t off, uint64_t len) {
  (void)::posix_fadvise(fd.get(), static_cast<off_t>(off), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
}

}  // namespace

ProbeSource::ProbeSource(const io::Fd& fd, uint64_t size, uint32_t sector_size)
    : fd_(&fd), size_(size), sector_size_(sector_size ? sector_size : 512) {
  uint64_t head_len = std::min(size, kHeadWindow);
  init_window(head_, 0, head_len);
  if (size > head_len) {
    uint64_t tail_off = size - std::min(size - head_len, kTailWindow);
    init_window(tail_, tail_off, size - tail_off);
  }
  prefetch(fd, 0, head_len);
  if (tail_.len) prefetch(fd, tail_.off, tail_.len);
}

ProbeSource::ProbeSource(std::span<const uint8_t> image, uint32_t sector_size)
    : size_(image.size()), sector_size_(sector_size ? sector_size : 512), image_(image) {}

void ProbeSource::init_window(Window& w, uint64_t off, uint64_t len) {
  w.off = off;
  w.len = len;
  w.buf.reset(new uint8_t[static_cast<size_t>(len)]);  // default-initialised: pages stay untouched until read
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
      got = fd_->pread_some(w.buf.get() + from, static_cast<size_t>(n), w.off + from);
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
  try {
    if (fd_->pread_some(buf.data(), len, off) != len) return {};
  } catch (const std::exception&) {
    return {};  // an unreadable sector means "no signature here", as in libblkid
  }
  ++extra_reads_;
  extras_.emplace_back(off, std::move(buf));
  return extras_.back().second;
}

std::span<const uint8_t> ProbeSource::window_bytes(uint64_t off, uint64_t len) {
  if (!fd_ || len == 0 || off > size_ || len > size_ - off) return {};
  if (off + len <= head_.len) return from_window(head_, off, len);
  if (tail_.len && off >= tail_.off && off + len - tail_.off <= tail_.len) return from_window(tail_, off, len);
  return {};
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
