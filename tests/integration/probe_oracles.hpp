// Oracle helpers shared by the probe integration tests: blkid's export values unescaped, and
// the list of signatures `wipefs --all --no-act` would erase.
#pragma once
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "tests/support/harness.hpp"

namespace mos::test {

// blkid's export format backslash-escapes shell-special characters ("LVM2\\ 001").
inline std::map<std::string, std::string> blkid_unescaped(const std::string& dev) {
  auto kv = blkid_probe(dev);
  for (auto& [k, v] : kv) {
    std::string u;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '\\' && i + 1 < v.size()) ++i;
      u.push_back(v[i]);
    }
    v = u;
  }
  return kv;
}

// wipefs's own list, emulating successive erasures: "N bytes were erased at offset 0xOFF (type)".
inline std::set<std::pair<uint64_t, uint32_t>> wipefs_would_erase(const std::string& dev) {
  auto r = run_tool({"wipefs", "--all", "--no-act", "--force", dev});
  std::set<std::pair<uint64_t, uint32_t>> out;
  std::istringstream s(r.out);
  for (std::string line; std::getline(s, line);) {
    unsigned len = 0;
    unsigned long long off = 0;
    auto colon = line.find(": ");
    if (colon != std::string::npos &&
        (std::sscanf(line.c_str() + colon + 2, "%u bytes were erased at offset %llx", &len, &off) == 2 ||
         std::sscanf(line.c_str() + colon + 2, "%u byte was erased at offset %llx", &len, &off) == 2))
      out.insert({off, len});
  }
  return out;
}

}  // namespace mos::test
