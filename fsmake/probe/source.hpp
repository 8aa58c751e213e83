// Bounded byte source for probers: serves spans of the device from a head window and a tail
// window. Read::lazy (probing a device): both prefetched at once (one device round trip, cached
// pages not read again) and copied 64 KiB segment by segment as probers ask (a run of missing
// segments: one read). Read::whole (a caller that needs every byte of both, like a format's
// gate and wipe): each window read at once with O_DIRECT, no page cache filled and dropped; a
// device or file that refuses it falls back to the lazy path. Anything
// else (rare: a FAT32 root directory far from the start) is one extra bounded read. Never reads
// past the device size; returns an empty span instead. One source serves every check of one
// call (the prober, the signature list, the unknown-data gate) and, once the caller's own
// writes are applied to it, the probe of the result.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
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
  static constexpr uint64_t kSegment = 64 * 1024;
  static constexpr size_t kAlign = 4096;  // window buffers: page-aligned for O_DIRECT

  enum class Read { lazy, whole };
  // `base`: the source starts that many bytes into fd (a view of where a partition would start,
  // for the erased-table scan); size counts from there.
  ProbeSource(const io::Fd& fd, uint64_t size, uint32_t sector_size, Read read = Read::lazy, uint64_t base = 0);
  ProbeSource(std::span<const uint8_t> image, uint32_t sector_size);

  uint64_t size() const { return size_; }
  // The device read (what a repair command names); nullptr for an in-memory image.
  const io::Fd* device() const { return fd_; }
  uint32_t sector_size() const { return sector_size_; }
  // Bytes [off, off+len) of the device, or an empty span if out of range or unreadable.
  std::span<const uint8_t> get(uint64_t off, uint64_t len);
  // The same, but only from the head and tail windows (never an extra read): empty when
  // [off, off+len) is not inside one of them or is unreadable.
  std::span<const uint8_t> window_bytes(uint64_t off, uint64_t len);
  // Reads the given ranges outside the windows in one batch (io_uring where allowed) and keeps
  // them for get(): a classification's many small places cost one queue of reads.
  void read_ahead(std::span<const std::pair<uint64_t, uint64_t>> ranges);
  unsigned extra_reads() const { return extra_reads_; }
  unsigned window_reads() const { return window_reads_; }
  uint64_t window_bytes_read() const { return window_bytes_; }

  // The caller wrote `bytes` at `off` (or zeroed [off, off+len)) through its own exclusive
  // descriptor: the windows follow, extra reads overlapping it are dropped (read again).
  void written(uint64_t off, std::span<const uint8_t> bytes);
  void zeroed(uint64_t off, uint64_t len);

 private:
  const io::Fd* fd_ = nullptr;
  uint64_t base_ = 0;
  uint64_t size_ = 0;
  uint32_t sector_size_ = 512;
  std::span<const uint8_t> image_;
  struct Window {
    uint64_t off = 0, len = 0;
    struct Free {
      void operator()(uint8_t* p) const;
    };
    // allocated whole (untouched until filled), page-aligned for O_DIRECT, filled segment by segment
    std::unique_ptr<uint8_t[], Free> buf;
    std::vector<uint8_t> state;  // per segment: 0 not read, 1 read, 2 unreadable
  };
  Window head_, tail_;
  // deque: spans handed out stay valid (until written()/zeroed() drops overlapping ones)
  std::deque<std::pair<uint64_t, std::vector<uint8_t>>> extras_;
  unsigned extra_reads_ = 0;
  unsigned window_reads_ = 0;
  uint64_t window_bytes_ = 0;

  void init_window(Window& w, uint64_t off, uint64_t len);
  bool direct_ = false;  // Read::whole: windows and small extras read with O_DIRECT
  // pread with O_DIRECT set for the call: the bytes read, or nothing when refused or failed.
  std::optional<size_t> pread_direct(uint8_t* buf, uint64_t len, uint64_t off);
  // Reads w whole with O_DIRECT; false when the descriptor refuses it (w left to the lazy path).
  bool read_direct(Window& w);
  // An extra of at most kMaxExtraRead bytes through a page-aligned bounce buffer; false: read it
  // the buffered way.
  bool read_extra_direct(uint8_t* out, uint64_t len, uint64_t off);
  // [off, off+len) from w, reading its missing segments; empty when any is unreadable.
  std::span<const uint8_t> from_window(Window& w, uint64_t off, uint64_t len);
  // Applies fn(bytes, device offset, length) to the windows' part of [off, off+len), then drops
  // extras overlapping it.
  template <class Fn>
  void patch(uint64_t off, uint64_t len, Fn fn);
};

}  // namespace mos::fsmake
