// Label errors count what they name: bytes where the limit is in bytes, with the
// characters beside them when UTF-8 makes the two differ; positions are characters, with the byte.
#include <gtest/gtest.h>

#include "fsmake/fat32.hpp"
#include "fsmake/label.hpp"
#include "tests/support/error_text.hpp"

namespace mos::fsmake {
namespace {

TEST(LabelCounts, ByteLimitNamesBytesAndCharacters) {
  // 9 characters of 2 bytes each: 18 bytes over ext4's 16.
  const std::string e = test::validation_error_of([] { validate_label("ext4", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 16); });
  EXPECT_NE(e.find("is 18 bytes (9 characters)"), std::string::npos) << e;
  EXPECT_NE(e.find("at most 16 bytes"), std::string::npos) << e;
  const std::string ascii = test::validation_error_of([] { validate_label("ext4", "ABCDEFGHIJKLMNOPQ", 16); });
  EXPECT_NE(ascii.find("is 17 bytes;"), std::string::npos) << ascii;
}

TEST(LabelCounts, PositionIsTheCharacterWithItsByte) {
  // "é\tX": the tab is character 2, byte 3.
  const std::string e = test::validation_error_of([] { validate_label("swap", "\xC3\xA9\tX", 16); });
  EXPECT_NE(e.find("control character at position 2 (byte 3)"), std::string::npos) << e;
  const std::string ascii = test::validation_error_of([] { validate_label("swap", "AB\tX", 16); });
  EXPECT_NE(ascii.find("control character at position 3 of"), std::string::npos) << ascii;
}

TEST(LabelCounts, FatRefusesNonAsciiForWhatItIsNotForItsUtf8Length) {
  // Six characters, twelve bytes: the problem is the character set, not the length.
  const std::string e = test::validation_error_of([] { fat32::validate_label("\xC3\x89\xC3\x89\xC3\x89\xC3\x89\xC3\x89\xC3\x89"); });
  EXPECT_NE(e.find("non-ASCII byte at position 1"), std::string::npos) << e;
  EXPECT_EQ(e.find("12"), std::string::npos) << e;
  const std::string ascii = test::validation_error_of([] { fat32::validate_label("TWELVE_CHARS"); });
  EXPECT_NE(ascii.find("is 12 characters; FAT labels hold at most 11 characters"), std::string::npos) << ascii;
}

TEST(LabelCounts, NoNameMeansNoLabelAsInMkfsFat) {
  EXPECT_TRUE(fat32::means_no_label(""));
  EXPECT_TRUE(fat32::means_no_label("NO NAME"));
  EXPECT_TRUE(fat32::means_no_label("NO NAME    "));
  EXPECT_FALSE(fat32::means_no_label("NONAME"));
  EXPECT_FALSE(fat32::means_no_label("NO NAMES"));
}

}  // namespace
}  // namespace mos::fsmake
