// Swap writer against the oracles: blkid -p, swaplabel, and the kernel (swapon, /proc/swaps).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <unistd.h>

#include "fsmake/swap.hpp"
#include "tests/support/format_sandbox.hpp"
#include "tests/support/harness.hpp"
#include "base/text.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;
const std::array<uint8_t, 16> kUuid = {0x6d, 0x6f, 0x73, 0x2d, 0x73, 0x77, 0x41, 0x70,
                                       0x80, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66};

SandboxResult make_swap(const std::string& dev, const std::string& label) {
  return format_in_sandbox(dev, [&](const io::BlockFacts& f) {
    return fsmake::swap::plan_mkswap({label, kUuid, 0}, f.size_bytes);
  });
}

// Turns swap off again at scope end, whatever happened in between.
struct SwapOffGuard {
  std::string dev;
  ~SwapOffGuard() { run_tool({"swapoff", dev}); }
};

// The /proc/swaps line for dev ("" if absent); the kernel lists the node it resolved.
std::string proc_swaps_line(const std::string& dev) {
  std::ifstream in("/proc/swaps");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(dev + " ", 0) == 0 || line.rfind(dev + "\t", 0) == 0) return line;
  return {};
}

class SwapOracle : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SwapOracle, BlkidSwaplabelAndKernelSwapon) {
  MOS_REQUIRE_ROOT();
  const uint32_t sector = GetParam();
  // A tail of partial pages must be ignored. (Not a partial 4096-byte sector: loop devices
  // report such sizes but the last sector cannot be read, which blinds blkid.)
  const uint64_t size = 64 * MiB + 3 * 4096 + (sector == 512 ? 1536 : 0);
  LoopImage img(size, sector);
  SandboxResult r = make_swap(img.dev(), "MOSSWAP");
  ASSERT_TRUE(r.ok) << r.text;

  auto id = blkid_probe(img.dev());
  EXPECT_EQ(id["TYPE"], "swap");
  EXPECT_EQ(id["VERSION"], "1");
  EXPECT_EQ(id["LABEL"], "MOSSWAP");
  EXPECT_EQ(id["UUID"], mos::uuid_text(kUuid));

  ToolResult sl = run_tool({"swaplabel", img.dev()});
  ASSERT_TRUE(sl.ok()) << sl.err;
  EXPECT_NE(sl.out.find("LABEL: MOSSWAP"), std::string::npos) << sl.out;
  EXPECT_NE(sl.out.find("UUID:  " + mos::uuid_text(kUuid)), std::string::npos) << sl.out;

  // Byte for byte what mkswap writes for the same size, label and UUID.
  TempDir dir;
  std::string ref = dir / "ref.img";
  std::ofstream(ref).close();
  ASSERT_EQ(truncate(ref.c_str(), static_cast<off_t>(size)), 0);
  ToolResult mk = run_tool({"mkswap", "-L", "MOSSWAP", "-U", mos::uuid_text(kUuid), ref});
  ASSERT_TRUE(mk.ok()) << mk.out << mk.err;
  const size_t page_bytes = static_cast<size_t>(getpagesize());
  std::vector<uint8_t> theirs(page_bytes);
  std::ifstream(ref, std::ios::binary).read(reinterpret_cast<char*>(theirs.data()), page_bytes);
  EXPECT_TRUE(read_device(img.dev(), 0, page_bytes) == theirs) << "header page differs from mkswap's";

  SwapOffGuard off{img.dev()};
  ToolResult on = run_tool({"swapon", img.dev()});
  ASSERT_TRUE(on.ok()) << on.out << on.err;
  std::string line = proc_swaps_line(img.dev());
  ASSERT_FALSE(line.empty()) << "kernel does not list " << img.dev() << " in /proc/swaps";
  // Size column (KiB): every page after the header page, i.e. last_page pages.
  std::istringstream cols(line);
  std::string name, type;
  uint64_t size_kib = 0;
  cols >> name >> type >> size_kib;
  EXPECT_EQ(type, "partition");
  const uint64_t page = static_cast<uint64_t>(getpagesize());
  EXPECT_EQ(size_kib, (size / page - 1) * page / 1024);
  ToolResult offr = run_tool({"swapoff", img.dev()});
  EXPECT_TRUE(offr.ok()) << offr.err;
  EXPECT_TRUE(proc_swaps_line(img.dev()).empty());
}

INSTANTIATE_TEST_SUITE_P(Sectors, SwapOracle, ::testing::Values(512u, 4096u),
                         [](const auto& info) { return "sector" + std::to_string(info.param); });

void expect_refused_untouched(uint64_t size, const std::string& label, const std::string& want) {
  LoopImage img(size, 512);
  auto before = fill_random(img.dev(), size < MiB ? size : MiB);
  SandboxResult r = make_swap(img.dev(), label);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.text.find(want), std::string::npos) << r.text;
  EXPECT_TRUE(read_device(img.dev(), 0, before.size()) == before) << "device changed despite the error";
}

TEST(SwapBadInput, TooSmallOrBadLabelLeavesDeviceUntouched) {
  MOS_REQUIRE_ROOT();
  // The upper bound (2^32 pages = 16 TiB at 4 KiB) exceeds what a loop image here can be;
  // the unit tests cover it.
  expect_refused_untouched(36 * 1024, "TINY", "swap area needs at least 10 pages");
  expect_refused_untouched(64 * MiB, "SEVENTEEN_BYTES_X", "at most 16");
  expect_refused_untouched(64 * MiB, "TAB\tLABEL", "control character at position 4");
}

}  // namespace
}  // namespace mos::test
