// The prober must never crash or read out of bounds on garbage: random bytes, random bytes with
// every magic planted (so each prober parses hostile fields), and such images cut short at
// many lengths. Run under ASan/UBSan to make a bad read fail loudly.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "fsmake/probe/probe.hpp"
#include "base/bytes.hpp"

namespace mos::fsmake {
namespace {

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

void plant(std::vector<uint8_t>& b, uint64_t off, std::string_view magic) {
  if (off + magic.size() <= b.size()) std::memcpy(b.data() + off, magic.data(), magic.size());
}

// Random image with every known magic at its offset, plus a few fields that steer probers
// into their deeper parsing paths (md 1.x super_offset, iso PVD type, GPT header size).
std::vector<uint8_t> planted_image(std::mt19937_64& rng, size_t n) {
  auto b = random_bytes(rng, n);
  plant(b, 0x438, {"\x53\xef", 2});
  plant(b, 0x52, "FAT32   ");
  plant(b, 0x36, "FAT16   ");
  plant(b, 0x1fe, "\x55\xaa");
  if (b.size() > 0x1c2) b[0x1c2] = 0xEE;  // protective MBR entry
  plant(b, 512, "EFI PART");
  plant(b, 4096 - 10, "SWAPSPACE2");
  plant(b, 0, rng() % 2 ? "XFSB" : "hsqs");
  plant(b, 0x8000, "\x01" "CD001");
  plant(b, 0x8800, "\x02" "CD001\x01\x00");
  plant(b, 0x10040, "_BHRfS_M");
  plant(b, 0x200, "LABELONE");
  plant(b, 0x218, "LVM2 001");
  plant(b, 0x1000, "\xfc\x4e\x2b\xa9\x01\x00\x00\x00");  // md 1.2 magic + major 1
  if (b.size() >= 0x1000 + 0x98) store_le64(b.data() + 0x1000 + 0x90, 8);
  plant(b, 4096 + 24, {"\xc6\x85\x73\xf6\x66\xce\x90\xa9\xd9\x6a\x60\xcf\x80\x3d\xf7\xef", 16});
  if (b.size() >= 4096 + 112) store_le64(b.data() + 4096 + 104, 8);
  for (uint64_t ub = 128 * 1024; ub < 256 * 1024; ub += 1024 * (1 + rng() % 8))
    plant(b, ub, {"\x0c\xb1\xba\x00\x00\x00\x00\x00", 8});
  return b;
}

void probe_everything(const std::vector<uint8_t>& img) {
  for (uint32_t ss : {512u, 4096u}) {
    auto r = probe_image(img, ss);
    auto sigs = find_signatures_in_image(img, ss);
    for (const auto& s : sigs) {
      EXPECT_LE(s.offset + s.length, img.size());
      EXPECT_EQ(s.bytes.size(), s.length);
      EXPECT_EQ(std::memcmp(img.data() + s.offset, s.bytes.data(), s.length), 0);
    }
    EXPECT_TRUE(r.type.empty() || !r.usage.empty());
  }
}

TEST(ProbeGarbage, EmptyAndTinyImages) {
  std::mt19937_64 rng(1);
  for (size_t n : {0, 1, 2, 10, 511, 512, 513, 1024, 1100, 4095, 4096, 4097})
    probe_everything(random_bytes(rng, n));
}

TEST(ProbeGarbage, RandomImages) {
  std::mt19937_64 rng(2);
  for (int i = 0; i < 40; ++i) probe_everything(random_bytes(rng, 64 * 1024 + rng() % (1 << 20)));
}

TEST(ProbeGarbage, PlantedMagicsOverRandomFields) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) probe_everything(planted_image(rng, 300 * 1024 + rng() % (1 << 20)));
}

TEST(ProbeGarbage, PlantedMagicsTruncatedAtManyLengths) {
  std::mt19937_64 rng(4);
  auto full = planted_image(rng, 600 * 1024);
  for (size_t n = 0; n < full.size(); n += 1 + rng() % 4099) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    probe_everything(cut);
  }
}

TEST(ProbeGarbage, AllZeroAndAllOnes) {
  probe_everything(std::vector<uint8_t>(2 << 20, 0));
  probe_everything(std::vector<uint8_t>(2 << 20, 0xff));
  EXPECT_EQ(probe_image(std::vector<uint8_t>(2 << 20, 0), 512).type, "");
}

}  // namespace
}  // namespace mos::fsmake
