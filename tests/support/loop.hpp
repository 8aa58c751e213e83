// Loop devices of tests and benchmarks, which only ever touch loop devices they attached
// themselves: an RAII owner over ioctl/loop (LOOP_CONFIGURE, LOOP_CLR_FD).
#pragma once
#include <cstdint>
#include <string>

#include "ioctl/loop.hpp"

namespace mos::test {

using LoopOptions = io::LoopOptions;

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

using io::loop_detach;

}  // namespace mos::test
