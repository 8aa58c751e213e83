// Probe text is JSON-safe: labels carry well-formed UTF-8 whatever the disk holds (blkid prints
// raw bytes; our inventory sends them as JSON text, which nlohmann refuses to dump otherwise).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string_view>

#include "base/text.hpp"
#include "fsmake/probe/prober.hpp"

namespace mos::fsmake::probe {
namespace {

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(ProbeText, LabelKeepsUtf8AndReplacesWhatIsNot) {
  EXPECT_EQ(label_text(bytes("DATA   \0junk")), "DATA");
  EXPECT_EQ(label_text(bytes("Caf\xc3\xa9")), "Caf\xc3\xa9");         // UTF-8 stays
  EXPECT_EQ(label_text(bytes("CAF\x82")), "CAF\xef\xbf\xbd");         // stray byte
  EXPECT_EQ(label_text(bytes("\xc0\xafx")), "\xef\xbf\xbd\xef\xbf\xbdx");  // overlong '/'
  EXPECT_EQ(label_text(bytes("\xed\xa0\x80")), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_NO_THROW((void)nlohmann::json(label_text(bytes("\xff\xfe\x80 ok"))).dump());
}

TEST(ProbeText, FatOemLabelThroughCodePage437) {
  EXPECT_EQ(oem_label_text(bytes("CAF\x82       ")), "CAF\xc3\xa9");  // 0x82 = U+00E9
  EXPECT_EQ(oem_label_text(bytes("\x8e\x99\x9a")), "\xc3\x84\xc3\x96\xc3\x9c");  // Ä Ö Ü
  EXPECT_EQ(oem_label_text(bytes("\xe1")), "\xc3\x9f");                 // ß
}

TEST(ProbeText, Utf16LoneSurrogateIsReplaced) {
  const uint8_t lone[] = {0x00, 0xD8, 'A', 0};  // LE: U+D800 then 'A'
  EXPECT_EQ(utf16_bytes_to_utf8(lone, false), "\xef\xbf\xbd" "A");
}

}  // namespace
}  // namespace mos::fsmake::probe
