// The text boundary (base/safe_text.hpp, engine::json_text): hostile bytes from the kernel and
// from disks leave as valid UTF-8 with the escapes each format needs — JSON, Prometheus label
// values, CLI tables.
#include "base/safe_text.hpp"

#include <gtest/gtest.h>

#include "bins/cli/table.hpp"
#include "engine/jobs/metrics.hpp"
#include "engine/json.hpp"

namespace mos {
namespace {

TEST(SafeText, InvalidUtf8BecomesReplacementCharacters) {
  EXPECT_TRUE(is_valid_utf8("plain \xC3\xA9"));
  EXPECT_FALSE(is_valid_utf8("img-\xff\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_EQ(valid_utf8("img-\xff\xfe"), "img-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(valid_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
  EXPECT_EQ(valid_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(SafeText, JsonTextNeverThrows) {
  engine::json j = {{"backing_file", "/var/tmp/img-\xff\xfe"}, {"label", "A\"B\\C\n"}};
  EXPECT_THROW((void)j.dump(), engine::json::type_error);  // what the state store once did
  const std::string text = engine::json_text(j);
  EXPECT_TRUE(is_valid_utf8(text));
  EXPECT_EQ(engine::json::parse(text)["backing_file"], "/var/tmp/img-\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(engine::json::parse(text)["label"], "A\"B\\C\n");
}

TEST(SafeText, PrintableTextEscapesControls) {
  EXPECT_EQ(printable_text("a\nb\x1b[31m\\\x7f"), "a\\x0ab\\x1b[31m\\\\\\x7f");
  EXPECT_EQ(printable_text("\xC2\x9B" "x"), "\\x9bx");  // C1 CSI
  EXPECT_EQ(printable_text("\xff"), "\xEF\xBF\xBD");
  EXPECT_EQ(printable_text("abcdef", 3), "abc...");
}

TEST(SafeText, PrometheusLabelValue) {
  engine::MetricsText m;
  m.family("mos_test", "gauge", "test");
  m.sample("mos_test", {{"label", "a\"b\\c\nd\xff"}}, 1);
  EXPECT_EQ(m.text(), "# HELP mos_test test\n# TYPE mos_test gauge\nmos_test{label=\"a\\\"b\\\\c\\nd\xEF\xBF\xBD\"} 1\n");
}

TEST(SafeText, CliTableShowsControlCharactersEscaped) {
  const std::string text = cli::table_text({"DEVICE", "LABEL"}, {{"/dev/loop9", "EVIL\n\x1b[2J\rX\xff"}, {"/dev/loop10", "ok"}});
  EXPECT_EQ(text,
            "DEVICE       LABEL\n"
            "/dev/loop9   EVIL\\x0a\\x1b[2J\\x0dX\xEF\xBF\xBD\n"
            "/dev/loop10  ok\n");
  EXPECT_EQ(cli::shown(engine::json("a\nb")), "a\\x0ab");
}

}  // namespace
}  // namespace mos
