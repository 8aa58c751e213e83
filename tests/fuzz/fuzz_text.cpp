// Fuzz target: hostile text from the kernel and from disks (sysfs model/serial, labels, partition
// names, backing file names, mount points) through every way it leaves the process: inventory
// JSON, job JSON and the state files, Prometheus metrics and the CLI's table printer. Input: up to
// eight strings separated by NUL bytes. Each output must be produced without an exception, be
// valid UTF-8 and keep its format (JSON parses back, one Prometheus sample per line, one table
// row per line, no control character on a terminal).
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/safe_text.hpp"
#include "bins/cli/table.hpp"
#include "engine/inventory/inventory.hpp"
#include "engine/jobs/jobs.hpp"
#include "engine/jobs/metrics.hpp"
#include "engine/jobs/state_store.hpp"

namespace {

using mos::engine::json;

std::vector<std::string> split_strings(const uint8_t* data, size_t size) {
  std::vector<std::string> out(8);
  size_t k = 0;
  for (size_t i = 0; i < size && k < out.size(); ++i) {
    if (data[i] == 0) ++k;
    else out[k] += static_cast<char>(data[i]);
  }
  return out;
}

// Valid UTF-8 and a JSON document that parses back.
void check_json_text(const std::string& text) {
  if (!mos::is_valid_utf8(text)) __builtin_trap();
  if (json::parse(text, nullptr, false).is_discarded()) __builtin_trap();
}

mos::engine::Device hostile_device(const std::vector<std::string>& s) {
  mos::engine::Device d;
  d.path = "/dev/" + s[0];
  d.name = s[0];
  d.kind = "disk";
  d.model = s[1];
  d.serial = s[2];
  d.label = s[3];
  d.partlabel = s[4];
  d.backing_file = s[5];
  d.fstype = "btrfs";
  d.mountpoints = {s[6]};
  return d;
}

void inventory_json(const std::vector<std::string>& s) {
  const mos::engine::Device d = hostile_device(s);
  mos::engine::Device part = d;
  part.kind = "partition";
  part.parent = d.path;
  part.label = "MOSDATA";
  const std::vector<mos::engine::Device> all = {d, part};
  check_json_text(mos::engine::json_text(json(mos::engine::list_disks(all))));
  check_json_text(mos::engine::json_text(json(mos::engine::list_partitions(all))));
  check_json_text(mos::engine::json_text(json(mos::engine::list_filesystems(all)), 2));
  mos::engine::MountInfo m{s[6], s[0], "btrfs", s[7], s[3], s[4], d.path, s[3], false};
  check_json_text(mos::engine::json_text(json(m)));
}

// The state directory of this process's runs (made once, removed when the process exits).
std::string state_dir;

mos::engine::StateStore& state_store() {
  static mos::engine::StateStore store = [] {
    char dir[] = "/tmp/mos_fuzz_text.XXXXXX";
    if (!mkdtemp(dir)) __builtin_trap();
    state_dir = dir;
    std::atexit([] { std::filesystem::remove_all(state_dir); });
    return mos::engine::StateStore(dir, nullptr);
  }();
  return store;
}

void jobs_and_state(const std::vector<std::string>& s) {
  mos::engine::JobInfo job;
  job.id = 1;
  job.kind = "zero";
  job.target = s[5];
  job.state = "failed";
  job.error = s[1];
  job.result = {{"device", json(hostile_device(s))}};
  check_json_text(mos::engine::json_text(json(job)));
  mos::engine::StateStore& store = state_store();
  store.save_jobs({job});
  if (store.load_jobs().size() != 1) __builtin_trap();  // written valid: read back, not "corrupt"
  store.save_scrub("01234567-89ab-cdef-0123-456789abcdef", {{"mount_point", s[6]}, {"label", s[3]}});
  if (!store.load_scrub("01234567-89ab-cdef-0123-456789abcdef")) __builtin_trap();
}

void metrics(const std::vector<std::string>& s) {
  mos::engine::MetricsText out;
  out.family("mos_test", "gauge", "hostile labels");
  out.sample("mos_test", {{"mountpoint", s[6]}, {"device", s[0]}, {"label", s[3]}}, 1);
  out.sample("mos_test", {{"model", s[1]}}, 2);
  const std::string text = out.text();
  if (!mos::is_valid_utf8(text)) __builtin_trap();
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (lines != 4) __builtin_trap();  // HELP, TYPE and one line per sample
}

void cli_table(const std::vector<std::string>& s) {
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    rows.push_back({mos::cli::cell(json(s[i])), mos::cli::cell(json::array({s[i + 1], s[i]})), s[i + 1]});
  const std::string text = mos::cli::table_text({"DEVICE", "MOUNTPOINTS", "LABEL"}, rows);
  if (!mos::is_valid_utf8(text)) __builtin_trap();
  size_t lines = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c == '\n') ++lines;
    else if (c < 0x20 || c == 0x7F) __builtin_trap();  // a control character reached the terminal
    else if (c == 0xC2 && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) <= 0x9F) __builtin_trap();
  }
  if (lines != rows.size() + 1) __builtin_trap();
  const std::string shown = mos::cli::shown(json(s[0]));
  if (!mos::is_valid_utf8(shown) || shown.find('\n') != std::string::npos) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<std::string> s = split_strings(data, size);
  inventory_json(s);
  jobs_and_state(s);
  metrics(s);
  cli_table(s);
  return 0;
}
