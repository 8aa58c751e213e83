// ProbeSource over a file descriptor: the bytes it serves are the file's, each window segment
// is read at most once (a run of missing segments in one read), and after written()/zeroed()
// it serves what the caller wrote without reading again. An image source is the reference.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <random>
#include <vector>

#include "fsmake/probe/source.hpp"
#include "ioctl/fd.hpp"

namespace mos::fsmake {
namespace {

struct TempImage {
  std::string path;
  io::Fd fd;
  explicit TempImage(const std::vector<uint8_t>& bytes, const std::string& dir = "/tmp") {
    std::string tmpl = dir + "/mos-probe-source-XXXXXX";
    int raw = mkstemp(tmpl.data());
    if (raw < 0) throw std::runtime_error("mkstemp failed");
    path = tmpl;
    fd = io::Fd(raw, path);
    fd.pwrite_exact(bytes.data(), bytes.size(), 0);
  }
  ~TempImage() { unlink(path.c_str()); }
};

std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

TEST(ProbeSourceWindows, ServesTheFileReadingEachSegmentOnce) {
  const uint64_t size = 8ull << 20;
  auto bytes = random_bytes(size, 1);
  TempImage img(bytes);
  ProbeSource src(img.fd, size, 512);
  ProbeSource ref(std::span<const uint8_t>(bytes), 512);
  EXPECT_EQ(src.window_reads(), 0u);  // nothing is read until asked
  EXPECT_TRUE(same(src.get(0, 4096), ref.get(0, 4096)));
  EXPECT_TRUE(same(src.get(100, 200), ref.get(100, 200)));  // same segment: no new read
  EXPECT_EQ(src.window_reads(), 1u);
  EXPECT_EQ(src.window_bytes_read(), ProbeSource::kSegment);
  // The whole first MiB: the 15 segments still missing come in one read.
  EXPECT_TRUE(same(src.get(0, 1 << 20), ref.get(0, 1 << 20)));
  EXPECT_EQ(src.window_reads(), 2u);
  const uint64_t last = size - (1 << 20);
  EXPECT_TRUE(same(src.get(last, 1 << 20), ref.get(last, 1 << 20)));
  EXPECT_EQ(src.window_reads(), 3u);
  EXPECT_TRUE(same(src.get(size - 512, 512), ref.get(size - 512, 512)));
  EXPECT_EQ(src.window_reads(), 3u);
  // Outside both windows: one bounded extra read; past the end: nothing.
  EXPECT_TRUE(same(src.get(4ull << 20, 4096), ref.get(4ull << 20, 4096)));
  EXPECT_EQ(src.extra_reads(), 1u);
  EXPECT_TRUE(src.get(size - 100, 200).empty());
}

TEST(ProbeSourceWindows, FollowsTheCallersWritesWithoutReadingAgain) {
  const uint64_t size = 8ull << 20;
  auto bytes = random_bytes(size, 2);
  TempImage img(bytes);
  ProbeSource src(img.fd, size, 512);
  ASSERT_FALSE(src.get(0, 1 << 20).empty());
  ASSERT_FALSE(src.get(size - (1 << 20), 1 << 20).empty());
  ASSERT_FALSE(src.get(4ull << 20, 4096).empty());  // an extra the write below makes stale
  const unsigned reads = src.window_reads();

  // What a format does: zero the edges, write a header, write something outside the windows.
  auto header = random_bytes(4096, 3);
  auto middle = random_bytes(4096, 4);
  std::vector<uint8_t> zeros(1 << 20, 0);
  for (auto [off, data] : {std::pair<uint64_t, std::span<const uint8_t>>{0, zeros},
                           {size - (1 << 20), zeros}, {1024, header}, {4ull << 20, middle}}) {
    img.fd.pwrite_exact(data.data(), data.size(), off);
    std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off));
  }
  src.zeroed(0, 1 << 20);
  src.zeroed(size - (1 << 20), 1 << 20);
  src.written(1024, header);
  src.written(4ull << 20, middle);

  ProbeSource ref(std::span<const uint8_t>(bytes), 512);
  EXPECT_TRUE(same(src.get(0, 1 << 20), ref.get(0, 1 << 20)));
  EXPECT_TRUE(same(src.get(size - (1 << 20), 1 << 20), ref.get(size - (1 << 20), 1 << 20)));
  EXPECT_EQ(src.window_reads(), reads);  // served from the windows as patched
  EXPECT_TRUE(same(src.get(4ull << 20, 4096), ref.get(4ull << 20, 4096)));  // re-read, not the stale extra
  // A segment never read and written only in part is read from the file, which has the bytes.
  EXPECT_TRUE(same(src.get(1 << 20, 65536), ref.get(1 << 20, 65536)));
}

TEST(ProbeSourceWindows, SmallDevicesAndOddSizes) {
  for (uint64_t size : {uint64_t{0}, uint64_t{511}, uint64_t{70000}, uint64_t{(1 << 20) + 70000}, uint64_t{3 << 20}}) {
    auto bytes = random_bytes(size, 5);
    TempImage img(bytes);
    ProbeSource src(img.fd, size, 512);
    ProbeSource ref(std::span<const uint8_t>(bytes), 512);
    for (uint64_t off = 0; off < size; off += 4093) {
      uint64_t len = std::min<uint64_t>(8192, size - off);
      EXPECT_TRUE(same(src.get(off, len), ref.get(off, len))) << size << " @" << off;
    }
    EXPECT_TRUE(src.get(size, 1).empty());
  }
}

// Read::whole: both windows are read at once (O_DIRECT where the file system allows it, as on a
// block device; tmpfs and odd offsets take the lazy path) and serve the same bytes; nothing is
// read again for them.
TEST(ProbeSourceWindows, WholeWindowsAreReadAtOnceAndServeTheSameBytes) {
  for (const std::string dir : {"/var/tmp", "/dev/shm", "/tmp"}) {
    for (uint64_t size : {uint64_t{8} << 20, uint64_t{(3 << 20) + 4096}, uint64_t{(1 << 20) + 70000}, uint64_t{70000}}) {
      auto bytes = random_bytes(size, 6);
      TempImage img(bytes, dir);
      ProbeSource src(img.fd, size, 512, ProbeSource::Read::whole);
      ProbeSource ref(std::span<const uint8_t>(bytes), 512);
      const unsigned reads = src.window_reads();
      const bool aligned = size % 4096 == 0;
      // A file system with O_DIRECT reads each window once, here; /dev/shm may refuse (lazy).
      const bool direct = dir == "/var/tmp" && aligned;
      if (direct) {
        EXPECT_EQ(reads, size > ProbeSource::kHeadWindow ? 2u : 1u) << size;
      }
      const uint64_t head = std::min(size, ProbeSource::kHeadWindow);
      EXPECT_TRUE(same(src.get(0, head), ref.get(0, head))) << dir << " " << size;
      const uint64_t tail = std::min<uint64_t>(size, 1 << 20);
      EXPECT_TRUE(same(src.get(size - tail, tail), ref.get(size - tail, tail))) << dir << " " << size;
      if (direct) {
        EXPECT_EQ(src.window_reads(), reads) << size;
        EXPECT_EQ(src.window_bytes_read(), std::min(size, ProbeSource::kHeadWindow + ProbeSource::kTailWindow)) << size;
      }
    }
  }
}

}  // namespace
}  // namespace mos::fsmake
