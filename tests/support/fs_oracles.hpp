// The filesystem checkers' verdicts tests demand: a clean run says nothing but its banner,
// pass headers and summary.
#pragma once
#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>

#include "tests/support/harness.hpp"

namespace mos::test {

// e2fsck -fn must exit 0 and print nothing but its pass headers and the summary line.
inline void expect_e2fsck_clean(const std::string& dev) {
  ToolResult r = run_tool({"e2fsck", "-fn", dev});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::istringstream s(r.out);
  std::string line;
  std::regex allowed(R"(^(Pass [1-5][A-Z]?: [A-Za-z ,]+|.*: \d+/\d+ files \([0-9.]+% non-contiguous\), \d+/\d+ blocks)$)");
  while (std::getline(s, line)) EXPECT_TRUE(std::regex_match(line, allowed)) << "e2fsck said: " << line;
  for (const char* bad : {"Fix", "error", "Error", "invalid", "differences"})
    EXPECT_EQ(r.err.find(bad), std::string::npos) << r.err;
}

// fsck.fat -n: exit 0 and nothing but its banner and the one-line summary.
inline void expect_fsck_fat_clean(const std::string& dev) {
  ToolResult r = run_tool({"fsck.fat", "-n", dev});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::string all = r.out + r.err;
  int lines = 0;
  for (char c : all) lines += c == '\n';
  EXPECT_EQ(lines, 2) << "fsck.fat said more than banner + summary:\n" << all;
  EXPECT_EQ(all.find("arning"), std::string::npos) << all;
}

}  // namespace mos::test
