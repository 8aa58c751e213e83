// The CLI builds only the command group its command line names (bins/cli/main.cpp's table);
// every command `mos-volmgr --help` lists (all groups registered) must be in that table, or the
// table-checking mode refuses it, and each one's own --help must work from its group alone.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

const std::string kCli = std::string(MOS_BIN_DIR) + "/mos-volmgr";

std::vector<std::string> listed_commands() {
  auto help = run_tool({kCli, "--help"});
  std::vector<std::string> out;
  std::istringstream in(help.out);
  bool in_list = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
      continue;
    }
    if (!in_list || line.size() < 3 || line[0] != ' ') continue;
    std::istringstream words(line);
    std::string name;
    words >> name;
    out.push_back(name);
  }
  return out;
}

TEST(CliCommands, EveryCommandIsInTheGroupTableAndHasItsHelp) {
  auto commands = listed_commands();
  ASSERT_GE(commands.size(), 40u) << "parsed too few commands from --help";
  for (const auto& c : commands) {
    auto r = run_tool({"env", "MOS_VOLMGR_CLI_CHECK_TABLE=1", kCli, c, "--help"});
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.err;
    EXPECT_NE(r.out.find(c), std::string::npos) << c << " --help:\n" << r.out;
  }
  // The check is real: a word no group knows is refused in table-checking mode (exit 3) and,
  // normally, by CLI11 as a usage error (exit 2) after every group registered.
  auto unknown = run_tool({"env", "MOS_VOLMGR_CLI_CHECK_TABLE=1", kCli, "no-such-command"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown.err;
  auto plain = run_tool({kCli, "no-such-command"});
  EXPECT_EQ(plain.exit_code, 2) << plain.out << plain.err;
}

}  // namespace
}  // namespace mos::test
