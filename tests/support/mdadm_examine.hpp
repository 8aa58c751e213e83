// `mdadm --examine` (the md oracle) parsed into its "Key : Value" lines.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "tests/support/harness.hpp"

namespace mos::test {

// First occurrence of each key, both sides trimmed; a test failure when mdadm fails.
inline std::map<std::string, std::string> mdadm_examine(const std::string& dev_or_file) {
  ToolResult r = run_tool({"mdadm", "--examine", dev_or_file});
  EXPECT_TRUE(r.ok()) << dev_or_file << ": " << r.out << r.err;
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(" : ");
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = line.substr(colon + 3);
    key.erase(0, key.find_first_not_of(' '));
    value.erase(value.find_last_not_of(' ') + 1);
    out.emplace(key, value);
  }
  return out;
}

}  // namespace mos::test
