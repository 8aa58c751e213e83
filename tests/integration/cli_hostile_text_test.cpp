// Issue 19 item 5 end to end through the real CLI: a GPT partition name and an ext4 label carrying
// an ANSI escape, a newline, a tab, DEL, a C1 control and a byte that is not text, read by
// `mos-volmgr` as a user who is not root from the daemon in its default configuration (no
// --allow-devices). The table must carry no raw control byte and keep its columns, `--json` must
// parse and carry the text escaped with U+FFFD for the bad byte, Prometheus label values must be
// escaped, and the daemon must stay up. Everything named is the loop device the test attached.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <sstream>

#include "base/safe_text.hpp"
#include "gpt/read.hpp"
#include "gpt/structs.hpp"
#include "tests/integration/gpt_support.hpp"
#include "tests/integration/rpc_test_support.hpp"
#include "tests/support/engine_outcome.hpp"
#include "tests/support/test_user.hpp"

namespace mos::test {
namespace {

using json = nlohmann::json;
constexpr uint64_t MiB = 1ull << 20;

// ESC [31m (red), newline, tab, DEL and U+009B (the one-byte CSI of C1) around plain words.
const std::string kHostileName = "red\x1b[31mX\nnl\ttab\x7f\xc2\x9b" "end";
// An ext4 label is 16 raw bytes: the same kinds of bytes plus 0xFF, which is not UTF-8.
const std::string kHostileLabel = "L\x1b[31m\n\t\xff\x7f\xc2\x9bZ";
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// GPT names are UTF-16, so the bad unit on disk is an unpaired surrogate (our writer refuses to
// make one): set entry 1's first name unit to 0xD800 in both copies and fix their CRCs.
void put_unpaired_surrogate_in_first_name(const std::string& disk, uint64_t disk_bytes) {
  int fd = ::open(disk.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << disk;
  for (uint64_t header_lba : {uint64_t{1}, disk_bytes / 512 - 1}) {
    gpt::Header h{};
    ASSERT_EQ(::pread(fd, &h, sizeof h, static_cast<off_t>(header_lba * 512)), static_cast<ssize_t>(sizeof h));
    ASSERT_EQ(std::memcmp(h.signature, gpt::kSignature, 8), 0) << "no GPT header at LBA " << header_lba;
    std::vector<uint8_t> array(uint64_t{h.number_of_partition_entries} * h.size_of_partition_entry);
    const auto array_at = static_cast<off_t>(uint64_t{h.partition_entry_lba} * 512);
    ASSERT_EQ(::pread(fd, array.data(), array.size(), array_at), static_cast<ssize_t>(array.size()));
    auto* first = reinterpret_cast<gpt::EntryRecord*>(array.data());
    first->partition_name[0] = uint16_t{0xD800};
    h.partition_entry_array_crc32 = gpt::gpt_crc32(array.data(), array.size());
    h.header_crc32 = 0u;
    h.header_crc32 = gpt::gpt_crc32(&h, sizeof h);
    ASSERT_EQ(::pwrite(fd, array.data(), array.size(), array_at), static_cast<ssize_t>(array.size()));
    ASSERT_EQ(::pwrite(fd, &h, sizeof h, static_cast<off_t>(header_lba * 512)), static_cast<ssize_t>(sizeof h));
  }
  ::fsync(fd);
  ::close(fd);
}

// Every byte a terminal would act on: C0 controls but the line ends, DEL, C1 (U+0080..U+009F
// as UTF-8), and anything that is not UTF-8 at all.
std::string raw_control_bytes_in(const std::string& text) {
  std::string found;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if ((c < 0x20 && c != '\n') || c == 0x7F || c1) found += "byte " + std::to_string(c) + " at " + std::to_string(i) + "; ";
  }
  if (!is_valid_utf8(text)) found += "not UTF-8; ";
  return found;
}

// Cells are separated by two or more spaces and never contain two in a row.
size_t columns_of(const std::string& line) {
  size_t n = 0, i = 0;
  while (i < line.size()) {
    ++n;
    size_t gap = line.find("  ", i);
    if (gap == std::string::npos) break;
    i = line.find_first_not_of(' ', gap);
  }
  return n;
}

// Each section of a table output (a header line, then rows) keeps the header's column count.
void expect_table_is_safe(const std::string& out, const std::string& what) {
  EXPECT_EQ(raw_control_bytes_in(out), "") << what << ":\n" << out;
  std::istringstream in(out);
  size_t header_columns = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.find("  ") == std::string::npos) {  // a section title or a gap
      header_columns = 0;
      continue;
    }
    if (header_columns == 0) header_columns = columns_of(line);
    else EXPECT_EQ(columns_of(line), header_columns) << what << ": a cell broke the columns in\n" << line << "\n" << out;
  }
}

TEST(CliHostileText, PartitionNameAndLabelReachTheTableEscapedAsANonRootClient) {
  MOS_REQUIRE_ROOT();
  TestUser user;
  ASSERT_GT(user.uid, 0u);
  LoopImage disk(64 * MiB);

  // The partition, named through our own GPT engine, then the surrogate put into its name.
  auto table = engine_call([&] { return json(engine::create_partition_table(disk.dev(), false, false, loop_only_context())); });
  ASSERT_FALSE(table.contains("error")) << table;
  engine::CreatePartitionRequest req{disk.dev(), kHostileName, "linux", 32 * MiB, std::nullopt, false};
  auto part = engine_call([&] { return json(engine::create_partition(req, loop_only_context())); });
  ASSERT_FALSE(part.contains("error")) << part;
  put_unpaired_surrogate_in_first_name(disk.dev(), disk.size());
  const std::string p1 = disk.dev() + "p1";
  ASSERT_TRUE(wait_for_path(p1)) << p1;
  auto mkfs = run_tool({"mkfs.ext4", "-q", "-F", "-L", kHostileLabel, p1});
  ASSERT_TRUE(mkfs.ok()) << mkfs.err;

  // Mounted at a directory named with the same bytes, so the text reaches the mounts table and
  // the Prometheus labels (mountpoint) too.
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);  // the user must reach the socket
  const std::string target = dir / ("m\x1b[31m\n\t\xff\"\\q");
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  ASSERT_EQ(::mount(p1.c_str(), target.c_str(), "ext4", MS_NOSUID | MS_NODEV, nullptr), 0) << std::strerror(errno);
  MountGuard unmount_at_end(target);

  rpc::DaemonOptions o;  // the default configuration: no allow list, no admin group
  use_private_dirs(o, dir.path());
  o.socket_path = dir / "s.sock";
  o.socket_mode = 0666;
  Daemon daemon([o](const std::string&) { rpc::run_daemon(o); }, o.socket_path);
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"setpriv", "--reuid", user.name, "--regid", user.name, "--clear-groups",
                               std::string(MOS_BIN_DIR) + "/mos-volmgr", "--socket", daemon.socket()});
    return run_tool(args);
  };

  for (const auto& cmd : {std::vector<std::string>{"partitions"}, {"filesystems"}, {"mounts"}, {"disks"},
                          {"status"}, {"partition-table", "--disk", disk.dev()}}) {
    auto r = cli(cmd);
    ASSERT_TRUE(r.ok()) << cmd[0] << ": " << r.err;
    expect_table_is_safe(r.out, cmd[0]);
  }
  // The escaped forms are there (the rows were not dropped): ESC, newline and tab as \xNN.
  auto parts = cli({"partitions"});
  EXPECT_NE(parts.out.find(kReplacement + "ed\\x1b[31mX\\x0anl\\x09tab\\x7f\\x9bend"), std::string::npos) << parts.out;
  EXPECT_NE(parts.out.find("L\\x1b[31m\\x0a\\x09" + kReplacement), std::string::npos) << parts.out;

  // --json parses and carries the same text: controls escaped by JSON, bad units as U+FFFD.
  auto pj = cli({"partitions", "--json"});
  ASSERT_TRUE(pj.ok()) << pj.err;
  EXPECT_EQ(pj.out.find('\x1b'), std::string::npos) << "a raw ESC in the JSON text";
  json list = json::parse(pj.out, nullptr, false);
  ASSERT_FALSE(list.is_discarded()) << pj.out;
  json mine;
  for (const auto& p : list)
    if (p["path"] == p1) mine = p;
  ASSERT_TRUE(mine.is_object()) << pj.out;
  EXPECT_EQ(mine["partlabel"], kReplacement + "ed\x1b[31mX\nnl\ttab\x7f\xc2\x9b" "end") << mine;
  EXPECT_EQ(mine["label"], "L\x1b[31m\n\t" + kReplacement + "\x7f\xc2\x9bZ") << mine;

  // Prometheus: the mountpoint label value keeps one sample to a line, with \n, \" and \\ escaped.
  auto metrics = cli({"metrics"});
  ASSERT_TRUE(metrics.ok()) << metrics.err;
  const std::string escaped = "m\x1b[31m\\n\t" + kReplacement + "\\\"\\\\q";
  EXPECT_NE(metrics.out.find("mountpoint=\"" + dir.path() + "/" + escaped + "\""), std::string::npos) << metrics.out;
  std::istringstream lines(metrics.out);
  for (std::string line; std::getline(lines, line);)
    EXPECT_TRUE(line.empty() || line[0] == '#' || line.rfind("mos_", 0) == 0) << "a label value broke a line: " << line;

  EXPECT_TRUE(daemon.alive());
  EXPECT_TRUE(user.call(daemon.socket(), R"({"jsonrpc":"2.0","id":1,"method":"storage.list_disks"})")["result"].is_array());
  EXPECT_EQ(daemon.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace mos::test
