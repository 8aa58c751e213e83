// Bulk engine against oracles: xxhsum digests of the same bytes (extracted by dd), and cmp of
// the device against an expected image built by dd. Engine code runs under the execve sandbox.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

#include "engine/apply_plan.hpp"
#include "engine/bulk.hpp"
#include "base/error.hpp"
#include "ioctl/fd.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

using engine::Algo;

struct Range { uint64_t off, len; };

const char* xxhsum_flag(Algo a) { return a == Algo::xxh64 ? "-H1" : a == Algo::xxh3 ? "-H3" : "-H2"; }

// xxhsum of bytes [off, off+len) of `path`, cut out by dd. xxhsum prints "hex  -" for -H1/-H2
// and "XXH3 (-) = hex" for -H3: take the hex word.
std::string xxhsum_slice(const std::string& path, Range r, Algo a) {
  std::ostringstream cmd;
  cmd << "dd if=" << path << " iflag=skip_bytes,count_bytes skip=" << r.off << " count=" << r.len
      << " bs=1M status=none | xxhsum " << xxhsum_flag(a) << " -";
  ToolResult t = run_sh(cmd.str());
  EXPECT_TRUE(t.ok()) << t.err;
  std::istringstream words(t.out);
  std::string w, hex;
  while (words >> w)
    if ((w.size() == 16 || w.size() == 32) && w.find_first_not_of("0123456789abcdef") == std::string::npos) hex = w;
  return hex;
}

std::string our_checksum(const std::string& path, Range r, Algo a, engine::BulkOptions o = {}) {
  SandboxResult s = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(path, O_RDONLY);
    return engine::checksum(fd, r.off, r.len, a, o);
  });
  EXPECT_TRUE(s.ok) << s.text;
  return s.text;
}

void fill_random(const std::string& path, uint64_t size) {
  ToolResult t = run_sh("head -c " + std::to_string(size) + " /dev/urandom | dd of=" + path +
                        " bs=1M iflag=fullblock conv=notrunc status=none");
  ASSERT_TRUE(t.ok()) << t.err;
}

// Expected image: a copy of the target with [off, off+len) overwritten with zeroes by dd.
std::string expected_after_zero(const TempDir& dir, const std::string& target, Range r) {
  std::string exp = dir / "expected";
  std::ostringstream cmd;
  cmd << "dd if=" << target << " of=" << exp << " bs=1M status=none && dd if=/dev/zero of=" << exp
      << " conv=notrunc oflag=seek_bytes iflag=count_bytes seek=" << r.off << " count=" << r.len
      << " bs=1M status=none";
  ToolResult t = run_sh(cmd.str());
  EXPECT_TRUE(t.ok()) << t.err;
  return exp;
}

std::string our_zero(const std::string& path, Range r, engine::BulkOptions o) {
  SandboxResult s = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(path, O_RDWR);
    engine::zero(fd, r.off, r.len, o);
    return std::string("ok");
  });
  EXPECT_TRUE(s.ok) << s.text;
  return s.text;
}

engine::BulkOptions small_chunks() {
  engine::BulkOptions o;
  o.queue_depth = 7;      // odd depth and many chunks: completions arrive out of order
  o.chunk_size = 64 << 10;
  return o;
}

}  // namespace

TEST(BulkChecksum, MatchesXxhsumOnLoopDevicesIncludingUnalignedRanges) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 40ull << 20;
  for (uint32_t ss : {512u, 4096u}) {
    LoopImage img(size, ss);
    fill_random(img.dev(), size);
    const Range ranges[] = {{0, size},            {12345, (7ull << 20) + 333}, {4096 * 3, 5ull << 20},
                            {100, 50},            {size - 777, 777},           {ss - 1, 2},
                            {(1ull << 20) + 1, size - (1ull << 20) - 2}};
    for (Range r : ranges)
      for (Algo a : {Algo::xxh64, Algo::xxh3, Algo::xxh128}) {
        SCOPED_TRACE("sector " + std::to_string(ss) + " off " + std::to_string(r.off) + " len " +
                     std::to_string(r.len) + " " + std::string(engine::algo_name(a)));
        std::string want = xxhsum_slice(img.dev(), r, a);
        ASSERT_EQ(want.size(), a == Algo::xxh128 ? 32u : 16u);
        EXPECT_EQ(our_checksum(img.dev(), r, a), want);
        EXPECT_EQ(our_checksum(img.dev(), r, a, small_chunks()), want);
      }
  }
}

TEST(BulkChecksum, MatchesXxhsumOnARegularFileOfOddSize) {
  MOS_REQUIRE_ROOT();
  TempDir dir;
  std::string f = dir / "odd.bin";
  const uint64_t size = (5ull << 20) + 777;
  fill_random(f, size);
  for (Range r : {Range{0, size}, Range{1, size - 1}, Range{4095, (2ull << 20) + 3}, Range{size - 10, 10}})
    for (Algo a : {Algo::xxh64, Algo::xxh3, Algo::xxh128}) {
      SCOPED_TRACE("off " + std::to_string(r.off) + " len " + std::to_string(r.len));
      std::string want = xxhsum_slice(f, r, a);
      EXPECT_EQ(our_checksum(f, r, a), want);
      EXPECT_EQ(our_checksum(f, r, a, small_chunks()), want);
    }
  // The whole file read by xxhsum itself, no dd in between.
  ToolResult t = run_tool({"xxhsum", "-H2", f});
  EXPECT_EQ(t.out.substr(0, 32), our_checksum(f, {0, size}, Algo::xxh128));
}

TEST(BulkZero, ZeroesExactlyTheRangeOnLoopDevicesBothPaths) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 24ull << 20;
  for (uint32_t ss : {512u, 4096u})
    for (bool offload : {true, false}) {
      LoopImage img(size, ss);
      const Range ranges[] = {{1000, (9ull << 20) + 123}, {5000, 10}, {(3ull << 20), 1ull << 20},
                              {size - 4097, 4097}, {0, size}};
      for (Range r : ranges) {
        SCOPED_TRACE("sector " + std::to_string(ss) + (offload ? " offload" : " data path") + " off " +
                     std::to_string(r.off) + " len " + std::to_string(r.len));
        TempDir dir;
        fill_random(img.dev(), size);
        std::string exp = expected_after_zero(dir, img.dev(), r);
        engine::BulkOptions o = offload ? engine::BulkOptions{} : small_chunks();
        o.allow_offload = offload;
        EXPECT_EQ(our_zero(img.dev(), r, o), "ok");
        ToolResult cmp = run_tool({"cmp", exp, img.dev()});
        EXPECT_TRUE(cmp.ok()) << cmp.out << cmp.err;
        // And straight from the medium, past any page cache: the backing file.
        ToolResult cmp_file = run_tool({"cmp", exp, img.file()});
        EXPECT_TRUE(cmp_file.ok()) << cmp_file.out << cmp_file.err;
      }
    }
}

TEST(BulkZero, ZeroesExactlyTheRangeOnARegularFileBothPaths) {
  MOS_REQUIRE_ROOT();
  TempDir dir;
  std::string f = dir / "odd.bin";
  const uint64_t size = (6ull << 20) + 4321;
  for (bool offload : {true, false})
    for (Range r : {Range{1, (3ull << 20) + 5}, Range{4096, 8192}, Range{size - 4000, 4000}, Range{0, size}}) {
      SCOPED_TRACE(std::string(offload ? "offload" : "data path") + " off " + std::to_string(r.off));
      fill_random(f, size);
      std::string exp = expected_after_zero(dir, f, r);
      engine::BulkOptions o = small_chunks();
      o.allow_offload = offload;
      EXPECT_EQ(our_zero(f, r, o), "ok");
      ToolResult cmp = run_tool({"cmp", exp, f});
      EXPECT_TRUE(cmp.ok()) << cmp.out << cmp.err;
      struct stat st {};
      ASSERT_EQ(stat(f.c_str(), &st), 0);
      EXPECT_EQ(static_cast<uint64_t>(st.st_size), size) << "zeroing must not change the file size";
    }
}

TEST(BulkZero, RangePastTheEndIsRefusedAndNothingIsWritten) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 8ull << 20;
  LoopImage img(size, 512);
  TempDir dir;
  fill_random(img.dev(), size);
  std::string before = dir / "before";
  ASSERT_TRUE(run_sh("dd if=" + img.dev() + " of=" + before + " bs=1M status=none").ok());
  SandboxResult s = run_sandboxed([&] {
    io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
    try {
      engine::zero(fd, 4096, size, {});
    } catch (const Error& e) {
      return std::to_string(static_cast<int>(e.code())) + " " + e.what();
    }
    return std::string("accepted");
  });
  ASSERT_TRUE(s.ok) << s.text;
  EXPECT_EQ(s.text.substr(0, 7), "-32001 ") << s.text;
  EXPECT_NE(s.text.find("beyond the end"), std::string::npos) << s.text;
  EXPECT_TRUE(run_tool({"cmp", before, img.dev()}).ok());
}

TEST(BulkProgress, ReachesTotalMonotonically) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 16ull << 20;
  LoopImage img(size, 4096);
  fill_random(img.dev(), size);
  SandboxResult s = run_sandboxed([&] {
    std::ostringstream out;
    for (int op = 0; op < 3; ++op) {  // checksum, zero with offload, zero on the data path
      uint64_t last = 0, total_seen = 0, calls = 0;
      bool monotonic = true;
      engine::BulkOptions o = small_chunks();
      o.allow_offload = op != 2;
      o.progress = [&](uint64_t done, uint64_t total) {
        monotonic = monotonic && done >= last && done <= total;
        last = done;
        total_seen = total;
        ++calls;
      };
      io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
      const uint64_t off = 333, len = size - 1000;
      if (op == 0) engine::checksum(fd, off, len, Algo::xxh3, o);
      else engine::zero(fd, off, len, o);
      out << (monotonic ? "mono" : "NOT-mono") << " " << last << "/" << total_seen << " "
          << (calls > 10 || op == 1 ? "ok" : "few") << ";";
    }
    return out.str();
  });
  ASSERT_TRUE(s.ok) << s.text;
  std::string t = std::to_string(size - 1000);
  EXPECT_EQ(s.text, "mono " + t + "/" + t + " ok;mono " + t + "/" + t + " ok;mono " + t + "/" + t + " ok;");
}

TEST(BulkCancel, StopsEarlyWithCancelledError) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 32ull << 20;
  LoopImage img(size, 512);
  fill_random(img.dev(), size);
  SandboxResult s = run_sandboxed([&] {
    std::ostringstream out;
    for (int op = 0; op < 3; ++op) {
      std::atomic<bool> cancel{false};
      std::stop_source stop;
      uint64_t last = 0;
      engine::BulkOptions o = small_chunks();
      o.allow_offload = false;
      if (op == 2) o.stop = stop.get_token(); else o.cancel = &cancel;
      o.progress = [&](uint64_t done, uint64_t) {
        last = done;
        if (done >= (4u << 20)) { cancel = true; stop.request_stop(); }
      };
      io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
      try {
        if (op == 0) engine::checksum(fd, 0, size, Algo::xxh64, o);
        else engine::zero(fd, 0, size, o);
        out << "finished;";
      } catch (const Error& e) {
        out << e.what() << (last < size / 2 ? " early;" : " late;");
      }
    }
    return out.str();
  });
  ASSERT_TRUE(s.ok) << s.text;
  EXPECT_EQ(s.text, "cancelled early;cancelled early;cancelled early;");
}

TEST(BulkZero, ApplyPlanWithBulkZeroFnZeroesPlanRanges) {
  MOS_REQUIRE_ROOT();
  const uint64_t size = 16ull << 20;
  LoopImage img(size, 512);
  TempDir dir;
  fill_random(img.dev(), size);
  std::string exp = expected_after_zero(dir, img.dev(), {4097, 5ull << 20});
  ASSERT_TRUE(run_sh("printf 'MOSPLAN' | dd of=" + exp + " bs=1 seek=8192 conv=notrunc status=none").ok());
  SandboxResult s = run_sandboxed([&] {
    mos::WritePlan plan{"bulktest", {}};
    auto& step = plan.step("zero-then-write");
    step.zeroes.push_back({4097, 5ull << 20, "test range"});
    step.writes.push_back({8192, {'M', 'O', 'S', 'P', 'L', 'A', 'N'}, "marker"});
    io::Fd fd = io::Fd::open(img.dev(), O_RDWR);
    engine::BulkOptions o;
    o.allow_offload = false;
    engine::apply_plan(fd, plan, engine::bulk_zero_fn(o));
    return std::string("ok");
  });
  ASSERT_TRUE(s.ok) << s.text;
  ToolResult cmp = run_tool({"cmp", exp, img.dev()});
  EXPECT_TRUE(cmp.ok()) << cmp.out << cmp.err;
}

}  // namespace mos::test
