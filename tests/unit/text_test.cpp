// The shared text forms: sizes, UUIDs, UTF-16.
#include <gtest/gtest.h>

#include <climits>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mos::io {
namespace {

ErrorCode code_of(std::string_view text, std::optional<uint64_t> whole = std::nullopt) {
  try {
    parse_size(text, "--size", whole);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::internal;  // no error: never what these cases expect
}

TEST(SizeText, SuffixesAreBinary) {
  EXPECT_EQ(parse_size("1048576", "x"), 1048576u);
  EXPECT_EQ(parse_size("0", "x"), 0u);
  EXPECT_EQ(parse_size("512K", "x"), 512u * 1024);
  EXPECT_EQ(parse_size("512k", "x"), 512u * 1024);
  EXPECT_EQ(parse_size("10M", "x"), 10u << 20);
  EXPECT_EQ(parse_size("10MiB", "x"), 10u << 20);
  EXPECT_EQ(parse_size("10MB", "x"), 10u << 20);
  EXPECT_EQ(parse_size("3G", "x"), 3ull << 30);
  EXPECT_EQ(parse_size("2T", "x"), 2ull << 40);
  EXPECT_EQ(parse_size("1P", "x"), 1ull << 50);
  EXPECT_EQ(parse_size("100B", "x"), 100u);
}

TEST(SizeText, OverflowIsRefusedNotWrapped) {
  EXPECT_EQ(parse_size("18446744073709551615", "x"), UINT64_MAX);
  EXPECT_EQ(code_of("18446744073709551616"), ErrorCode::invalid_params);
  EXPECT_EQ(code_of("99999999999999999999999"), ErrorCode::invalid_params);
  EXPECT_EQ(parse_size("16383P", "x"), 16383ull << 50);
  EXPECT_EQ(code_of("16384P"), ErrorCode::invalid_params);  // 2^64
  EXPECT_EQ(code_of("17179869184G"), ErrorCode::invalid_params);
}

TEST(SizeText, MalformedTextNamesTheArgument) {
  for (const char* bad : {"", "M", "-1", "1.5G", "10X", "10 M", "10Mi", "1e9", "0x10", " 1"})
    EXPECT_EQ(code_of(bad), ErrorCode::invalid_params) << bad;
  try {
    parse_size("10Q", "--size");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--size '10Q'"), std::string::npos) << e.what();
  }
}

TEST(SizeText, PercentOnlyWithAWhole) {
  EXPECT_EQ(code_of("50%"), ErrorCode::invalid_params);
  EXPECT_EQ(parse_size("50%", "x", 1000), 500u);
  EXPECT_EQ(parse_size("100%", "x", 1000), 1000u);
  EXPECT_EQ(parse_size("33%", "x", 1000), 330u);
  EXPECT_EQ(parse_size("1%", "x", UINT64_MAX), UINT64_MAX / 100);
  EXPECT_EQ(parse_size("100%", "x", UINT64_MAX), UINT64_MAX);  // no overflow in the product
  EXPECT_EQ(code_of("0%", 1000), ErrorCode::invalid_params);
  EXPECT_EQ(code_of("101%", 1000), ErrorCode::invalid_params);
}

TEST(UuidText, FormatsAndParsesBlkidForm) {
  Uuid u{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(uuid_text(u), "12345678-9abc-def0-0123-456789abcdef");
  EXPECT_EQ(parse_uuid("12345678-9ABC-def0-0123-456789abcdef"), u);
  EXPECT_FALSE(parse_uuid("12345678-9abc-def0-0123-456789abcde"));
  EXPECT_FALSE(parse_uuid("12345678:9abc-def0-0123-456789abcdef"));
  EXPECT_FALSE(parse_uuid("1234567g-9abc-def0-0123-456789abcdef"));
  EXPECT_FALSE(parse_uuid("123456789abcdef00123456789abcdef0000"));
}

TEST(Utf16Text, RoundTripAndMalformedInput) {
  std::string s = "mos \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80";  // "mos été 😀"
  auto units = utf8_to_utf16(s, "name");
  EXPECT_EQ(units.size(), 10u);  // the emoji is a surrogate pair
  EXPECT_EQ(utf16_to_utf8(units), s);
  EXPECT_THROW(utf8_to_utf16("\xc0\x80", "name"), Error);       // overlong NUL
  EXPECT_THROW(utf8_to_utf16("\xed\xa0\x80", "name"), Error);   // a surrogate in UTF-8
  EXPECT_THROW(utf8_to_utf16("\xe2\x82", "name"), Error);       // truncated
  EXPECT_THROW(utf8_to_utf16(std::string("a\0b", 3), "name"), Error);
  std::vector<uint16_t> lone{0x41, 0xD800, 0x42};
  EXPECT_EQ(utf16_to_utf8(lone, true), "A\xef\xbf\xbd" "B");
  EXPECT_EQ(utf16_to_utf8(lone, false), "A\xed\xa0\x80" "B");
  const uint8_t be[] = {0x00, 'M', 0x00, 'O', 0x00, 0x00, 0x00, 'X'};
  EXPECT_EQ(utf16_bytes_to_utf8(be, true), "MO");
  const uint8_t le[] = {'M', 0x00, 'O', 0x00};
  EXPECT_EQ(utf16_bytes_to_utf8(le, false), "MO");
}

}  // namespace
}  // namespace mos::io
