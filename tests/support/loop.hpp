// Loop devices: attach a backing file with LOOP_CONFIGURE (atomic setup incl. sector size and
// direct I/O), detach with LOOP_CLR_FD. Used by tests and benchmarks, which only ever touch
// loop devices they attached themselves (no product code attaches loop devices).
#pragma once
#include <cstdint>
#include <string>

namespace mos::test {

struct LoopOptions {
  uint32_t sector_size = 0;  // 0 = kernel default (512)
  bool direct_io = false;
  bool read_only = false;
  bool autoclear = false;    // kernel detaches when the last opener closes
  uint64_t offset = 0;       // where the device starts in the backing file (bytes)
  uint64_t size_limit = 0;   // its size in bytes; 0 = to the end of the backing file
};

class LoopDevice {
 public:
  LoopDevice() = default;
  // Attaches backing_file to a free loop device (LOOP_CTL_GET_FREE; retries when another
  // process wins the race for the same number).
  static LoopDevice attach(const std::string& backing_file, const LoopOptions& opts = {});
  LoopDevice(LoopDevice&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  LoopDevice& operator=(LoopDevice&& o) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  ~LoopDevice();

  const std::string& path() const { return path_; }
  // Detaches now; throws on failure (the destructor only tries, with retries on EBUSY).
  void detach();

 private:
  explicit LoopDevice(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Detach by path (LOOP_CLR_FD), retrying briefly while the device is still busy.
void loop_detach(const std::string& dev_path);

}  // namespace mos::test
