// main() of every gtest binary (unit, integration, VM): gtest's own, plus strict skips
// (tests/support/strict_skips.hpp) when MOS_STRICT_SKIPS=1.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/support/strict_skips.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (mos::test::strict_skips_requested()) {
    const std::string path = mos::test::allowed_skips_path();
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    try {
      if (!file) throw std::runtime_error("cannot read it");
      auto allowed = mos::test::parse_allowed_skips(text.str(), mos::test::test_build_kind());
      // After gtest's printer (listeners end a test in reverse order: ours first); gtest owns it.
      testing::UnitTest::GetInstance()->listeners().Append(new mos::test::StrictSkipListener(std::move(allowed), path));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "strict skips: %s: %s\n", path.c_str(), e.what());
      return 1;
    }
  }
  return RUN_ALL_TESTS();
}
