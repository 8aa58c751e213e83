// Strict skips: with MOS_STRICT_SKIPS=1 (scripts/test and `scripts/fuzz ci` set it) a skipped
// test fails unless tests/allowed_skips.txt allows it with a reason, so no root, no VM or a
// missing kernel feature cannot turn a suite into silent skips. Installed by test_main.cpp in
// every gtest binary (unit, integration, VM).
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mos::test {

// One line of the allowed-skips file: BUILD PATTERN REASON.
struct AllowedSkip {
  std::string build;    // "any", "plain" (gcc, scripts/build) or "sanitizer" (scripts/fuzz)
  std::string pattern;  // Suite.Test, with * and ? as in --gtest_filter
  std::string reason;
};

// The build this binary is: "sanitizer" under MOS_UNDER_SANITIZER, else "plain".
const char* test_build_kind();

// The entries of an allowed-skips text that apply to build (comments and blank lines ignored);
// throws std::runtime_error naming the line of a malformed entry.
std::vector<AllowedSkip> parse_allowed_skips(const std::string& text, const std::string& build);
// The entry allowing test `name` ("Suite.Test") to skip, nullptr when none does.
const AllowedSkip* find_allowed_skip(const std::vector<AllowedSkip>& allowed, const std::string& name);

// MOS_STRICT_SKIPS is set to something other than "" or "0".
bool strict_skips_requested();
// The allowed-skips file: $MOS_ALLOWED_SKIPS, else the committed tests/allowed_skips.txt.
std::string allowed_skips_path();

// Turns each skip the list does not allow into a failure of that test (ctest then reports a
// failure, not a skip); prints the reason of each allowed one. Append it after gtest's printer:
// OnTestEnd runs in reverse order, so the printer already sees the failure.
class StrictSkipListener : public testing::EmptyTestEventListener {
 public:
  StrictSkipListener(std::vector<AllowedSkip> allowed, std::string path)
      : allowed_(std::move(allowed)), path_(std::move(path)) {}
  void OnTestEnd(const testing::TestInfo& info) override;

 private:
  std::vector<AllowedSkip> allowed_;
  std::string path_;
};

}  // namespace mos::test
