// Persistent state and metrics through the real daemon: a scrub killed with the daemon (kill -9)
// shows as "interrupted" in storage.jobs and storage.scrub_status after a restart; a corrupt
// state file is set aside and the daemon starts; storage.metrics passes a strict parser of the
// Prometheus text format and its figures match df and btrfs device stats.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.hpp"
#include "rpc/client.hpp"
#include "tests/integration/btrfs_mgmt_support.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/harness.hpp"

namespace mos::test {
namespace {

constexpr uint64_t MiB = 1ull << 20;

// Strict reading of the text exposition format 0.0.4: HELP/TYPE grammar, one TYPE per family
// before its samples, samples of a family together, metric and label names, escaped label
// values, float values, no series twice. Returns "name{labels}" -> value; test failures on errors.
std::map<std::string, double> parse_prometheus(const std::string& text) {
  static const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex label_re("[a-zA-Z_][a-zA-Z0-9_]*");
  std::map<std::string, double> out;
  std::set<std::string> typed, closed;
  std::string current;
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    const std::string where = "line " + std::to_string(n) + ": " + line;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream l(line);
      std::string hash, kw, name, rest;
      l >> hash >> kw >> name;
      std::getline(l, rest);
      EXPECT_TRUE(hash == "#" && (kw == "HELP" || kw == "TYPE")) << where;
      EXPECT_TRUE(std::regex_match(name, name_re)) << where;
      if (kw == "TYPE") {
        EXPECT_TRUE(rest == " counter" || rest == " gauge" || rest == " untyped" || rest == " summary" ||
                    rest == " histogram")
            << where;
        EXPECT_TRUE(typed.insert(name).second) << "second TYPE for " << where;
        EXPECT_FALSE(closed.count(name)) << "TYPE after samples: " << where;
      }
      continue;
    }
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    std::string name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(name, name_re)) << where;
    std::string family = name;
    for (const char* suffix : {"_total", "_count", "_sum", "_bucket"})
      if (!typed.count(family) && family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), std::string::npos, suffix) == 0 &&
          typed.count(family.substr(0, family.size() - strlen(suffix))))
        family = family.substr(0, family.size() - strlen(suffix));
    EXPECT_TRUE(typed.count(family)) << "sample without TYPE: " << where;
    if (family != current) {
      EXPECT_FALSE(closed.count(family)) << "family split: " << where;
      if (!current.empty()) closed.insert(current);
      current = family;
    }
    std::string series = name;
    if (i < line.size() && line[i] == '{') {
      series += '{';
      ++i;
      bool first = true;
      while (i < line.size() && line[i] != '}') {
        if (!first) {
          EXPECT_EQ(line[i], ',') << where;
          ++i;
        }
        first = false;
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          ADD_FAILURE() << where;
          return out;
        }
        std::string label = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(label, label_re)) << where;
        i = eq + 1;
        EXPECT_EQ(line[i], '"') << where;
        ++i;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\') {
            ++i;
            EXPECT_TRUE(line[i] == '\\' || line[i] == '"' || line[i] == 'n') << where;
          }
          value += line[i++];
        }
        EXPECT_LT(i, line.size()) << "unterminated label value: " << where;
        ++i;
        series += (series.back() == '{' ? "" : ",") + label + "=\"" + value + "\"";
      }
      EXPECT_LT(i, line.size()) << where;
      ++i;
      series += '}';
    }
    EXPECT_EQ(line[i], ' ') << where;
    std::string value = line.substr(i + 1);
    double v = 0;
    if (value == "NaN" || value == "+Inf" || value == "-Inf") {
      v = value == "-Inf" ? -HUGE_VAL : HUGE_VAL;
    } else {
      char* end = nullptr;
      v = std::strtod(value.c_str(), &end);
      EXPECT_TRUE(!value.empty() && end && *end == '\0') << "value: " << where;
    }
    EXPECT_TRUE(out.emplace(series, v).second) << "series twice: " << where;
  }
  return out;
}

// The value of one series; a test failure when the text lacks it (and NaN, which equals and
// orders with nothing, so the check that follows fails too). std::map's operator[] would insert
// 0 and let a missing series pass a check against 0.
double sample(const std::map<std::string, double>& m, const std::string& series) {
  auto it = m.find(series);
  if (it != m.end()) return it->second;
  ADD_FAILURE() << "no series " << series;
  return std::nan("");
}

// df's figures (the oracle) for a mount point: size, used, avail in bytes.
std::vector<uint64_t> df_bytes(const std::string& mnt) {
  auto r = run_tool({"df", "-B1", "--output=size,used,avail", mnt});
  EXPECT_TRUE(r.ok()) << r.err;
  std::istringstream in(r.out);
  std::string header;
  std::getline(in, header);
  std::vector<uint64_t> v(3);
  in >> v[0] >> v[1] >> v[2];
  return v;
}

TEST(Metrics, StrictFormatAndFiguresMatchDfAndJobs) {
  MOS_REQUIRE_ROOT();
  LoopImage img(128 * MiB);
  ASSERT_TRUE(run_tool({"mkfs.ext4", "-q", "-F", img.dev()}).ok());
  TempDir dir;
  std::string mnt = dir / "mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  ASSERT_TRUE(run_tool({"mount", "-t", "ext4", img.dev(), mnt}).ok());
  MountGuard guard(mnt);
  ASSERT_TRUE(write_random(mnt + "/data", 8 * MiB, true).ok());
  SandboxedDaemon server(img.dev());
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  c.call("storage.checksum", {{"device", img.dev()}, {"algo", "xxh64"}});
  c.call("storage.jobs", nlohmann::json::object());
  rpc_error(c, "storage.jobs", {{"id", 999}});

  const auto m = parse_prometheus(c.call("storage.metrics", nlohmann::json::object()).get<std::string>());
  const std::string labels = "{mountpoint=\"" + mnt + "\",device=\"" + img.dev() + "\",fstype=\"ext4\"}";
  auto df = df_bytes(mnt);
  EXPECT_EQ(sample(m, "mos_filesystem_size_bytes" + labels), static_cast<double>(df[0]));
  EXPECT_EQ(sample(m, "mos_filesystem_used_bytes" + labels), static_cast<double>(df[1]));
  EXPECT_EQ(sample(m, "mos_filesystem_avail_bytes" + labels), static_cast<double>(df[2]));
  EXPECT_EQ(sample(m, "mos_jobs{state=\"succeeded\"}"), 1);
  EXPECT_EQ(sample(m, "mos_jobs{state=\"running\"}"), 0);
  EXPECT_EQ(sample(m, "mos_rpc_requests_total{method=\"storage.checksum\",code=\"0\",outcome=\"success\"}"), 1);
  EXPECT_EQ(sample(m, "mos_rpc_requests_total{method=\"storage.jobs\",code=\"-32002\",outcome=\"error\"}"), 1);
  // Only allowed devices appear: no other filesystem of this machine is described.
  for (auto& [series, v] : m) {
    if (series.rfind("mos_filesystem_", 0) == 0) {
      EXPECT_NE(series.find(img.dev() + "\""), std::string::npos) << series;
    }
  }

  // The CLI prints the same text.
  auto r = server.cli({"metrics"});
  ASSERT_TRUE(r.ok()) << r.err;
  const auto from_cli = parse_prometheus(r.out);
  EXPECT_EQ(sample(from_cli, "mos_filesystem_size_bytes" + labels), static_cast<double>(df[0]));
}

TEST(JobsState, CorruptStateFileIsSetAsideAndTheDaemonStarts) {
  MOS_REQUIRE_ROOT();
  LoopImage img(8 * MiB);
  TempDir dir;
  std::string state = dir / "state";
  ASSERT_EQ(mkdir(state.c_str(), 0700), 0);
  std::ofstream(state + "/jobs.json") << "{\"jobs\": [ {\"id\": 1, truncated";
  SandboxedDaemon server(img.dev(), [&](rpc::DaemonOptions& o) { o.state_dir = state; });
  ASSERT_TRUE(server.ready());
  rpc::Client c(server.socket());
  EXPECT_TRUE(c.call("storage.jobs", nlohmann::json::object()).empty());
  struct stat st {};
  EXPECT_EQ(stat((state + "/jobs.json.corrupt").c_str(), &st), 0) << "corrupt file not set aside";
  c.call("storage.checksum", {{"device", img.dev()}, {"algo", "xxh3"}});
  // The new state file is whole JSON holding the job (written atomically: no temp file left).
  std::ifstream in(state + "/jobs.json");
  auto doc = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  ASSERT_EQ(doc["jobs"].size(), 1u);
  EXPECT_EQ(doc["jobs"][0]["state"], "succeeded");
  EXPECT_NE(stat((state + "/.jobs.json.tmp").c_str(), &st), 0);
}

// The fsid of a btrfs as blkid prints it (oracle).
std::string fsid_of(const std::string& dev) {
  auto r = run_tool({"blkid", "-p", "-s", "UUID", "-o", "value", dev});
  EXPECT_TRUE(r.ok()) << r.err;
  return btrfsmgmt::trim(r.out);
}

TEST(JobsState, ScrubKilledWithTheDaemonShowsInterruptedAfterRestart) {
  MOS_REQUIRE_ROOT();
  btrfsmgmt::BtrfsOnLoops fs(1, 1024 * MiB, {}, btrfsmgmt::unique_label("state"));
  ASSERT_TRUE(write_random(fs.mnt() + "/data", 256 * MiB, true).ok());
  const std::string fsid = fsid_of(fs.dev(0));
  const std::string speed = "/sys/fs/btrfs/" + fsid + "/devinfo/1/scrub_speed_max";
  if (access(speed.c_str(), W_OK) != 0) GTEST_SKIP() << "kernel has no " << speed;
  std::ofstream(speed) << (16 * MiB);  // a scrub of ~256 MiB then takes ~16 s: time to kill it
  TempDir dir;
  const std::string state = dir / "state";
  auto options = [&](rpc::DaemonOptions& o) { o.state_dir = state; };
  uint64_t id = 0;
  {
    SandboxedDaemon first(fs.dev(0), options);
    ASSERT_TRUE(first.ready());
    rpc::Client c(first.socket());
    id = c.call("storage.scrub_start", {{"mount_point", fs.mnt()}, {"background", true}})["job_id"];
    bool progressing = false;
    for (int i = 0; i < 500 && !progressing; ++i) {
      progressing = c.call("storage.jobs", {{"id", id}})["done"].get<uint64_t>() > 0;
      usleep(20000);
    }
    ASSERT_TRUE(progressing);
    first.stop(SIGKILL);
  }
  std::ofstream(speed) << 0;  // unthrottled from here on
  SandboxedDaemon second(fs.dev(0), options);
  ASSERT_TRUE(second.ready());
  rpc::Client c(second.socket());
  nlohmann::json scrub;
  for (int i = 0; i < 600; ++i) {  // the kernel ends the dead daemon's scrub on its own
    scrub = c.call("storage.scrub_status", {{"mount_point", fs.mnt()}});
    if (scrub["state"] != "running") break;
    usleep(50000);
  }
  EXPECT_EQ(scrub["state"], "interrupted") << scrub.dump();
  EXPECT_EQ(scrub["job_id"], id);
  auto job = c.call("storage.jobs", {{"id", id}});
  EXPECT_EQ(job["state"], "interrupted") << job.dump();
  EXPECT_EQ(job["kind"], "scrub");
  EXPECT_EQ(job["target"], fs.mnt());

  // A whole scrub's result survives the next restart, and metrics report it.
  auto done = c.call("storage.scrub_start", {{"mount_point", fs.mnt()}});
  ASSERT_EQ(done["state"], "finished") << done.dump();
  second.stop(SIGTERM);
  SandboxedDaemon third(fs.dev(0), options);
  ASSERT_TRUE(third.ready());
  rpc::Client c3(third.socket());
  scrub = c3.call("storage.scrub_status", {{"mount_point", fs.mnt()}});
  EXPECT_EQ(scrub["state"], "finished") << scrub.dump();
  EXPECT_EQ(scrub["error_count"], 0);
  EXPECT_GE(scrub["totals"]["data_bytes_scrubbed"].get<uint64_t>(), 256 * MiB);
  const auto m = parse_prometheus(c3.call("storage.metrics", nlohmann::json::object()).get<std::string>());
  const std::string l = "{fsid=\"" + fsid + "\",mountpoint=\"" + fs.mnt() + "\",state=\"finished\"}";
  EXPECT_EQ(sample(m, "mos_btrfs_scrub_last_errors" + l), 0);
  EXPECT_GE(sample(m, "mos_btrfs_scrub_last_seconds" + l), 0);
  EXPECT_LT(sample(m, "mos_btrfs_scrub_last_seconds" + l), 600);
  // Device error counters as `btrfs device stats` prints them (all zero on a healthy loop).
  auto stats = run_tool({"btrfs", "device", "stats", fs.mnt()});
  ASSERT_TRUE(stats.ok()) << stats.err;
  for (auto [ours, theirs] : {std::pair{"write_io", "write_io_errs"}, std::pair{"read_io", "read_io_errs"},
                              std::pair{"corruption", "corruption_errs"}}) {
    std::smatch sm;
    std::regex re(std::string("\\.") + theirs + "\\s+(\\d+)");
    ASSERT_TRUE(std::regex_search(stats.out, sm, re)) << stats.out;
    EXPECT_EQ(sample(m, "mos_btrfs_device_errors_total{fsid=\"" + fsid + "\",device=\"" + fs.dev(0) + "\",type=\"" + ours + "\"}"),
              std::stod(sm[1]))
        << ours;
  }
}

}  // namespace
}  // namespace mos::test
