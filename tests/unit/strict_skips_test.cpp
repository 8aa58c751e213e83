// Strict skips (tests/support/strict_skips.hpp): the allowed-skips file's grammar, and, through a
// child run of this binary, that a skip fails a strict run unless the file allows it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "tests/support/harness.hpp"
#include "tests/support/strict_skips.hpp"

namespace mos::test {
namespace {

TEST(StrictSkips, ParsesEntriesOfThisBuildOnly) {
  const std::string text =
      "# comment\n"
      "\n"
      "any   Suite.Name      needs a thing this machine lacks\n"
      "plain Other.*         only the gcc build\n"
      "sanitizer San.Test?   ASan breaks it\n";
  auto plain = parse_allowed_skips(text, "plain");
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].pattern, "Suite.Name");
  EXPECT_EQ(plain[0].reason, "needs a thing this machine lacks");
  EXPECT_EQ(plain[1].build, "plain");
  auto san = parse_allowed_skips(text, "sanitizer");
  ASSERT_EQ(san.size(), 2u);
  EXPECT_EQ(san[1].pattern, "San.Test?");
  EXPECT_NE(find_allowed_skip(san, "San.Test1"), nullptr);
  EXPECT_EQ(find_allowed_skip(san, "San.Test12"), nullptr);
  EXPECT_EQ(find_allowed_skip(san, "Other.Thing"), nullptr);  // a plain-build entry
  EXPECT_NE(find_allowed_skip(plain, "Other.Thing"), nullptr);
  EXPECT_NE(find_allowed_skip(parse_allowed_skips("any Vm*.* reason", "plain"), "VmRaid/Param.Case/3"), nullptr);
}

TEST(StrictSkips, RefusesEntriesWithoutReasonOrKnownBuild) {
  EXPECT_THROW(parse_allowed_skips("any Suite.Name\n", "plain"), std::runtime_error);          // no reason
  EXPECT_THROW(parse_allowed_skips("gcc Suite.Name reason\n", "plain"), std::runtime_error);   // unknown build
  EXPECT_THROW(parse_allowed_skips("any SuiteName reason\n", "plain"), std::runtime_error);     // not Suite.Test
  try {
    parse_allowed_skips("# ok\nany A.B fine\nany Broken\n", "plain");
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

// Skips only in a child run started by the test below (MOS_STRICT_SKIPS_PROBE=1); passes otherwise.
TEST(StrictSkipsProbe, SkipsWhenAsked) {
  if (std::getenv("MOS_STRICT_SKIPS_PROBE")) GTEST_SKIP() << "asked to skip";
}

TEST(StrictSkips, ASkipFailsAStrictRunUnlessTheListAllowsIt) {
  char exe[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  TempDir dir;
  const std::string list = dir / "allowed.txt";
  auto probe = [&](const std::string& allowed, bool strict) {
    std::ofstream(list) << allowed;
    return run_tool({"env", strict ? "MOS_STRICT_SKIPS=1" : "MOS_STRICT_SKIPS=0", "MOS_STRICT_SKIPS_PROBE=1",
                     "MOS_ALLOWED_SKIPS=" + list, exe, "--gtest_filter=StrictSkipsProbe.SkipsWhenAsked"});
  };
  ToolResult refused = probe("# nothing allowed\n", true);
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.out.find("[  FAILED  ] StrictSkipsProbe.SkipsWhenAsked"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("asked to skip"), std::string::npos) << refused.out;
  // ctest's gtest_discover_tests marks a test skipped when this appears, whatever the exit code.
  EXPECT_EQ(refused.out.find("[  SKIPPED ]"), std::string::npos) << refused.out;

  ToolResult allowed = probe("any StrictSkipsProbe.* the probe skips on purpose\n", true);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
  EXPECT_NE(allowed.out.find("[  SKIPPED ] StrictSkipsProbe.SkipsWhenAsked"), std::string::npos) << allowed.out;
  EXPECT_NE(allowed.out.find("the probe skips on purpose"), std::string::npos) << allowed.out;

  ToolResult lenient = probe("", false);
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out << lenient.err;
  EXPECT_NE(lenient.out.find("[  SKIPPED ]"), std::string::npos) << lenient.out;

  ToolResult malformed = probe("any NoReason.Here\n", true);
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_NE(malformed.err.find("line 1"), std::string::npos) << malformed.err;
}

}  // namespace
}  // namespace mos::test
