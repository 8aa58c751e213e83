#include "tests/support/strict_skips.hpp"

#include <fnmatch.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace mos::test {

const char* test_build_kind() {
#ifdef MOS_UNDER_SANITIZER
  return "sanitizer";
#else
  return "plain";
#endif
}

std::vector<AllowedSkip> parse_allowed_skips(const std::string& text, const std::string& build) {
  std::vector<AllowedSkip> out;
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    std::istringstream words(line);
    AllowedSkip entry;
    if (!(words >> entry.build) || entry.build[0] == '#') continue;
    words >> entry.pattern >> std::ws;
    std::getline(words, entry.reason);
    const bool known_build = entry.build == "any" || entry.build == "plain" || entry.build == "sanitizer";
    if (!known_build || entry.pattern.empty() || entry.pattern.find('.') == std::string::npos || entry.reason.empty())
      throw std::runtime_error("line " + std::to_string(number) + " is not 'any|plain|sanitizer Suite.Test reason': " + line);
    if (entry.build == "any" || entry.build == build) out.push_back(std::move(entry));
  }
  return out;
}

const AllowedSkip* find_allowed_skip(const std::vector<AllowedSkip>& allowed, const std::string& name) {
  for (const auto& a : allowed)
    if (fnmatch(a.pattern.c_str(), name.c_str(), 0) == 0) return &a;
  return nullptr;
}

bool strict_skips_requested() {
  const char* v = std::getenv("MOS_STRICT_SKIPS");
  return v && *v && std::string(v) != "0";
}

std::string allowed_skips_path() {
  const char* v = std::getenv("MOS_ALLOWED_SKIPS");
  return v && *v ? v : MOS_ALLOWED_SKIPS_FILE;
}

void StrictSkipListener::OnTestEnd(const testing::TestInfo& info) {
  const testing::TestResult& result = *info.result();
  if (!result.Skipped()) return;
  const std::string name = std::string(info.test_suite_name()) + "." + info.name();
  if (const AllowedSkip* a = find_allowed_skip(allowed_, name)) {
    std::printf("strict skips: %s may skip in the %s build (%s): %s\n", name.c_str(), test_build_kind(),
                path_.c_str(), a->reason.c_str());
    return;
  }
  std::string why;
  for (int i = 0; i < result.total_part_count(); ++i)
    if (result.GetTestPartResult(i).skipped()) why += result.GetTestPartResult(i).message();
  ADD_FAILURE() << "strict skips (MOS_STRICT_SKIPS=1): " << name << " skipped (" << why << ") and " << path_
                << " does not allow it in the " << test_build_kind()
                << " build: give the test what it needs, or add a line with the reason it may skip";
}

}  // namespace mos::test
