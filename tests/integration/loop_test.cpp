#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ioctl/blockdev.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {

TEST(Loop, AttachReportsSizeAndSectorSizes) {
  MOS_REQUIRE_ROOT();
  for (uint32_t ss : {512u, 4096u}) {
    LoopImage img(64ull << 20, ss);
    io::Fd fd = io::Fd::open(img.dev(), O_RDONLY);
    auto f = io::block_facts(fd);
    EXPECT_EQ(f.size_bytes, 64ull << 20);
    EXPECT_EQ(f.logical_sector_size, ss);
    // The kernel's own view (oracle): blockdev --getss
    auto r = run_tool({"blockdev", "--getss", img.dev()});
    EXPECT_EQ(std::stoul(r.out), ss);
  }
}

TEST(Sandbox, ExecveIsDenied) {
  auto r = run_sandboxed([] {
    char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
    execv("/bin/true", argv);
    return std::string("exec returned errno=") + std::to_string(errno);
  });
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "exec returned errno=" + std::to_string(EPERM));
}

}  // namespace mos::test
