#include "fsmake/probe_source.hpp"

#include <algorithm>

namespace mos::fsmake {

ProbeSource::ProbeSource(const io::Fd& fd, uint64_t size, uint32_t sector_size)
    : fd_(&fd), size_(size), sector_size_(sector_size ? sector_size : 512) {
  uint64_t head_len = std::min(size, kHeadWindow);
  head_.resize(head_len);
  head_.resize(fd.pread_some(head_.data(), head_len, 0));
  if (size > head_len) {
    tail_off_ = size - std::min(size - head_len, kTailWindow);
    tail_.resize(size - tail_off_);
    tail_.resize(fd.pread_some(tail_.data(), tail_.size(), tail_off_));
  }
}

ProbeSource::ProbeSource(std::span<const uint8_t> image, uint32_t sector_size)
    : size_(image.size()), sector_size_(sector_size ? sector_size : 512), image_(image) {}

std::span<const uint8_t> ProbeSource::get(uint64_t off, uint64_t len) {
  if (off > size_ || len > size_ - off) return {};
  if (!fd_) return image_.subspan(off, len);
  if (off + len <= head_.size()) return std::span<const uint8_t>(head_).subspan(off, len);
  if (off >= tail_off_ && off + len - tail_off_ <= tail_.size())
    return std::span<const uint8_t>(tail_).subspan(off - tail_off_, len);
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

}  // namespace mos::fsmake
