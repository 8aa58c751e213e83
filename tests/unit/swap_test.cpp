#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>

#include "fsmake/swap.hpp"
#include "fsmake/readers/swap_read.hpp"
#include "base/bytes.hpp"
#include "base/error.hpp"
#include "tests/support/error_text.hpp"
#include "tests/support/plan_image.hpp"
#include "base/text.hpp"

namespace mos::fsmake::swap {
namespace {

constexpr uint64_t MiB = 1ull << 20;
const std::array<uint8_t, 16> kUuid = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

TEST(Swap, HeaderRoundTrips) {
  for (uint32_t page : {4096u, 16384u, 65536u}) {
    auto plan = plan_mkswap({"MOSSWAP", kUuid, page}, 64 * MiB + 123);
    test::PlanImage img(plan);
    auto head = img.read(0, 65536);
    // The kernel's layout, independent of our struct: magic in the last 10 bytes of the page,
    // version at 1024, last_page at 1028, nr_badpages at 1032, uuid at 1036, label at 1052.
    EXPECT_EQ(std::memcmp(&head[page - 10], "SWAPSPACE2", 10), 0);
    EXPECT_EQ(load_le32(&head[1024]), 1u);
    EXPECT_EQ(load_le32(&head[1028]), 64 * MiB / page - 1);
    EXPECT_EQ(load_le32(&head[1032]), 0u);
    EXPECT_EQ(std::memcmp(&head[1036], kUuid.data(), 16), 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(&head[1052])), "MOSSWAP");
    EXPECT_EQ(std::vector<uint8_t>(head.begin(), head.begin() + 1024), std::vector<uint8_t>(1024, 0));

    HeaderInfo h = read_header(head.data(), head.size());
    EXPECT_EQ(h.page_size, page);
    EXPECT_EQ(h.version, 1u);
    EXPECT_EQ(h.last_page, 64 * MiB / page - 1);
    EXPECT_EQ(h.nr_badpages, 0u);
    EXPECT_EQ(h.uuid, kUuid);
    EXPECT_EQ(h.label, "MOSSWAP");
  }
  EXPECT_EQ(mos::uuid_text(kUuid), "12345678-9abc-def0-0123-456789abcdef");
}

TEST(Swap, DefaultsToThisMachinesPageAndARandomUuid) {
  auto a = plan_mkswap({}, 8 * MiB), b = plan_mkswap({}, 8 * MiB);
  test::PlanImage ia(a), ib(b);
  auto ha = read_header(ia.read(0, 65536).data(), 65536), hb = read_header(ib.read(0, 65536).data(), 65536);
  EXPECT_EQ(ha.page_size, static_cast<uint32_t>(getpagesize()));
  EXPECT_NE(ha.uuid, hb.uuid);
  EXPECT_EQ(ha.uuid[6] >> 4, 4);  // version 4 (random)
  EXPECT_EQ(ha.label, "");
}

TEST(Swap, SixteenByteLabelIsStoredUnterminated) {
  auto plan = plan_mkswap({"0123456789ABCDEF", kUuid, 4096}, 1 * MiB);
  test::PlanImage img(plan);
  EXPECT_EQ(read_header(img.read(0, 4096).data(), 4096).label, "0123456789ABCDEF");
}

TEST(Swap, RejectsBadInputPrecisely) {
  EXPECT_NE(test::validation_error_of([] { plan_mkswap({"0123456789ABCDEFG", {}, 4096}, MiB); }).find("at most 16"), std::string::npos);
  EXPECT_NE(test::validation_error_of([] { plan_mkswap({"A\nB", {}, 4096}, MiB); }).find("control character at position 2"), std::string::npos);
  std::string small = test::validation_error_of([] { plan_mkswap({"", {}, 4096}, 10 * 4096 - 1); });
  EXPECT_NE(small.find("at least 10 pages"), std::string::npos) << small;
  EXPECT_NE(small.find("40960 bytes"), std::string::npos) << small;
  EXPECT_NO_THROW(plan_mkswap({"", {}, 4096}, 10 * 4096));
  std::string big = test::validation_error_of([] { plan_mkswap({"", {}, 4096}, (kMaxPages + 1) * 4096); });
  EXPECT_NE(big.find("at most 4294967296 pages"), std::string::npos) << big;
  EXPECT_NO_THROW(plan_mkswap({"", {}, 4096}, kMaxPages * 4096 + 4095));
  EXPECT_NE(test::validation_error_of([] { plan_mkswap({"", {}, 6000}, MiB); }).find("power of two"), std::string::npos);
}

TEST(Swap, ReaderRejectsForeignOrDamagedHeaders) {
  std::vector<uint8_t> zeros(65536, 0);
  EXPECT_NE(test::validation_error_of([&] { read_header(zeros.data(), zeros.size()); }).find("SWAPSPACE2"), std::string::npos);
  auto plan = plan_mkswap({"", kUuid, 4096}, MiB);
  test::PlanImage img(plan);
  auto head = img.read(0, 4096);
  store_le32(&head[1024], 2);
  EXPECT_NE(test::validation_error_of([&] { read_header(head.data(), head.size()); }).find("version 2"), std::string::npos);
}

TEST(Swap, PlanWipesTheFirstMiBAndWritesOnePage) {
  auto plan = plan_mkswap({"", kUuid, 4096}, 64 * MiB);
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.bytes_written(), 4096u);
  EXPECT_EQ(plan.bytes_zeroed(), MiB - 4096);
}

}  // namespace
}  // namespace mos::fsmake::swap
