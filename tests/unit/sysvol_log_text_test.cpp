// mos_sysvol's console and kmsg lines carry labels, device paths and error text read from disks
// and sysfs: each leaves through printable_text (issue 19, log-line audit), so a hostile label
// can neither forge a second line nor drive the console. Failed before the Reporter escaped.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/sysvol/steps.hpp"

namespace mos::engine::sysvol {
namespace {

TEST(SysvolLogText, HostileLabelReachesTheLogEscaped) {
  Report report;
  std::vector<std::string> lines;
  LogFn log = [&](int, const std::string& line) { lines.push_back(line); };
  Reporter rep(report, log);
  const std::string hostile = "MOS\x1b[31mDATA\nmos_sysvol: forged\t\xff";
  rep.info(hostile);
  rep.done(hostile);
  rep.skip(hostile, hostile);
  rep.warn(hostile);
  rep.error(hostile);
  rep.damaged(Damage{hostile, hostile, hostile, hostile, hostile});
  ASSERT_EQ(lines.size(), 6u);
  for (const auto& line : lines) {
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\t'), std::string::npos) << line;
    EXPECT_NE(line.find("\\x1b[31m"), std::string::npos) << line;
    EXPECT_NE(line.find("\xef\xbf\xbd"), std::string::npos) << line;  // U+FFFD for the stray byte
  }
  EXPECT_EQ(report.warnings.at(0), hostile);  // the report keeps the text; its JSON escapes it
}

}  // namespace
}  // namespace mos::engine::sysvol
