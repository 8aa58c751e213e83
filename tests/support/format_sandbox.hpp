// Runs a format writer against a loop device the way the engine will: in a sandboxed child
// (execve denied), size and sector size from the kernel, plan validated then applied.
// Plus helpers to prove a refused format left the device untouched.
#pragma once
#include <fcntl.h>
#include <sys/random.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/apply_plan.hpp"
#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

using Planner = std::function<mos::WritePlan(const io::BlockFacts&)>;

// {ok=true} when the plan was built and applied; {ok=false, text=error message} otherwise.
inline SandboxResult format_in_sandbox(const std::string& dev, const Planner& planner) {
  return run_sandboxed([&] {
    io::Fd fd = io::Fd::open(dev, O_RDWR | O_EXCL);
    mos::WritePlan plan = planner(io::block_facts(fd));
    engine::apply_plan(fd, plan);
    return std::string("applied ") + plan.name;
  });
}

inline std::vector<uint8_t> read_device(const std::string& dev, uint64_t offset, size_t len) {
  return io::Fd::open(dev, O_RDONLY).pread_vec(len, offset);
}

// Fills [0, len) of dev with random bytes and returns them.
inline std::vector<uint8_t> fill_random(const std::string& dev, size_t len) {
  std::vector<uint8_t> bytes(len);
  for (size_t done = 0; done < len;) {
    ssize_t n = getrandom(bytes.data() + done, len - done, 0);
    if (n > 0) done += static_cast<size_t>(n);
  }
  io::Fd fd = io::Fd::open(dev, O_RDWR);
  fd.pwrite_exact(bytes.data(), len, 0);
  fd.fsync();
  return bytes;
}

}  // namespace mos::test
