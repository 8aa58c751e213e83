// Bounded byte source for probers: serves spans of the device from a head window and a tail
// window read once; anything else (rare: a FAT32 root directory far from the start) is one
// extra bounded read. Never reads past the device size; returns an empty span instead.
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

#include "ioctl/fd.hpp"

namespace mos::fsmake {

class ProbeSource {
 public:
  // Head covers md 1.x, bcachefs at 1 MiB, zfs L0/L1, iso9660 descriptors, btrfs at 64 KiB;
  // tail covers md 0.90/1.0, zfs L2/L3, the GPT backup header, the firmware-RAID metadata
  // (Promise's farthest copy: 3087 sectors from the end) and UDF's closing anchor.
  static constexpr uint64_t kHeadWindow = 1024 * 1024 + 64 * 1024;
  static constexpr uint64_t kTailWindow = 1024 * 1024 + 576 * 1024;
  static constexpr uint64_t kMaxExtraRead = 1024 * 1024;

  ProbeSource(const io::Fd& fd, uint64_t size, uint32_t sector_size);
  ProbeSource(std::span<const uint8_t> image, uint32_t sector_size);

  uint64_t size() const { return size_; }
  uint32_t sector_size() const { return sector_size_; }
  // Bytes [off, off+len) of the device, or an empty span if out of range or unreadable.
  std::span<const uint8_t> get(uint64_t off, uint64_t len);
  unsigned extra_reads() const { return extra_reads_; }

 private:
  const io::Fd* fd_ = nullptr;
  uint64_t size_ = 0;
  uint32_t sector_size_ = 512;
  std::span<const uint8_t> image_;
  std::vector<uint8_t> head_, tail_;
  uint64_t tail_off_ = 0;
  std::deque<std::pair<uint64_t, std::vector<uint8_t>>> extras_;  // deque: spans handed out stay valid
  unsigned extra_reads_ = 0;
};

}  // namespace mos::fsmake
